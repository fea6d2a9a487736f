-- One row per counted response and measure it has a valid answer for: is the answer in the
-- measure's numerator? A measure applies to everyone ('all') or to one roll-up; respondents
-- outside it are not in its denominator. Multi-select: valid when any valid option was chosen,
-- positive when any chosen option is in the numerator.
-- The chosen options are gathered per response and question first (only multi-select
-- questions have several), so the measures are joined to one row per answered question.
with codes as (
    select * from {{ ref('int_answer_codes') }} as codes
    {{- in_partitions_to_build('codes') }}
),

questions as (
    select question_id, answer_type from {{ ref('ref_questions') }}
),

measures as (
    select * from {{ ref('int_measures') }}
),

valid_codes as (
    select codes.*, questions.answer_type
    from codes
    inner join questions on codes.question_id = questions.question_id
    where codes.is_valid
),

answered_questions as (
    select
        organisation_id, wave, service_id, respondent_group, rollup, response_key, file_sha256,
        question_id, trend_group, question_version, [option_code] as chosen
    from valid_codes
    where answer_type <> 'multi'
    union all
    select
        organisation_id,
        wave,
        any_value(service_id),
        any_value(respondent_group),
        any_value(rollup),
        response_key,
        file_sha256,
        question_id,
        min(trend_group),
        min(question_version),
        list(option_code)
    from valid_codes
    where answer_type = 'multi'
    group by organisation_id, wave, file_sha256, response_key, question_id
)

select
    answered_questions.organisation_id,
    answered_questions.wave,
    answered_questions.service_id,
    answered_questions.respondent_group,
    answered_questions.rollup,
    answered_questions.response_key,
    answered_questions.file_sha256,
    measures.measure_id,
    answered_questions.trend_group,
    answered_questions.question_version,
    list_has_any(answered_questions.chosen, string_split(measures.numerator_codes, '|'))
        as is_positive
from answered_questions
inner join measures
    on answered_questions.question_id = measures.question_id
    and (measures.applies_to = 'all' or measures.applies_to = answered_questions.rollup)
