-- Every coded answer of every response that counts, in one shape: closed answers as chosen by
-- the respondent, open answers as coded in int_open_answers_coded (by an analyst's coding
-- sheet, an analyst's column in the export, or the codebook: coded_by says which).
-- Carries the trend group of the question version, which decides what can be trended together.
with responses as (
    select * from {{ ref('int_responses_duplicates_marked') }} as responses
    {{- in_partitions_to_build('responses') }}
),

answers as (
    select * from {{ ref('stg_validated__answers') }} as answers
    {{- in_partitions_to_build('answers') }}
),

open_codes as (
    select * from {{ ref('int_open_answers_coded') }} as open_codes
    {{- in_partitions_to_build('open_codes') }}
),

questions as (
    select * from {{ ref('ref_questions') }}
),

closed as (
    select
        answers.response_key,
        answers.file_sha256,
        answers.question_id,
        answers.question_version,
        answers.option_code,
        answers.coded_by
    from answers
    inner join questions on answers.question_id = questions.question_id
    where questions.answer_type <> 'open'
),

all_codes as (
    select * from closed
    union all
    select response_key, file_sha256, question_id, question_version, option_code, coded_by
    from open_codes
)

select
    responses.organisation_id,
    responses.wave,
    responses.service_id,
    responses.respondent_group,
    responses.rollup,
    all_codes.response_key,
    all_codes.file_sha256,
    all_codes.question_id,
    all_codes.question_version,
    versions.trend_group,
    all_codes.option_code,
    answer_options.is_valid,
    all_codes.coded_by
from all_codes
inner join responses
    on responses.counts_in_measures
    and all_codes.response_key = responses.response_key
    and all_codes.file_sha256 = responses.file_sha256
inner join questions on all_codes.question_id = questions.question_id
inner join {{ ref('ref_answer_options') }} as answer_options
    on questions.option_set_id = answer_options.option_set_id
    and all_codes.option_code = answer_options.option_code
inner join {{ ref('ref_question_versions') }} as versions
    on all_codes.question_id = versions.question_id
    and all_codes.question_version = versions.question_version
