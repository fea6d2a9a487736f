-- One row per counted response and measure it has a valid answer for: is the answer in the
-- measure's numerator? A measure applies to everyone ('all') or to one roll-up; respondents
-- outside it are not in its denominator. Multi-select: valid when any valid option was chosen,
-- positive when any chosen option is in the numerator.
with codes as (
    select * from {{ ref('int_answer_codes') }} as codes
    {{- in_partitions_to_build('codes') }}
),

measures as (
    select * from {{ ref('int_measures') }}
),

numerators as (
    select
        measure_id,
        unnest(string_split(numerator_codes, '|')) as option_code
    from measures
)

select
    codes.organisation_id,
    codes.wave,
    codes.service_id,
    codes.respondent_group,
    codes.rollup,
    codes.response_key,
    codes.file_sha256,
    measures.measure_id,
    min(codes.trend_group) as trend_group,
    min(codes.question_version) as question_version,
    bool_or(numerators.option_code is not null) as is_positive
from codes
inner join measures
    on codes.question_id = measures.question_id
    and (measures.applies_to = 'all' or measures.applies_to = codes.rollup)
left join numerators
    on measures.measure_id = numerators.measure_id
    and codes.option_code = numerators.option_code
where codes.is_valid
group by all
