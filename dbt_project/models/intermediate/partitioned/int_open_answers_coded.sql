-- Free-text answers coded with the codebook (ref_codebook.csv): a phrase matches as whole words,
-- case-insensitively (both sides reduced to their words, then a plain substring search: a
-- regular expression per answer and phrase cost a minute per million answers). 'level'
-- questions get one code (lowest priority number wins, else the question's fallback); 'themes'
-- questions get every matching theme (else the fallback).
-- Where an export carries an analyst's own coding of the answer, that coding wins and the
-- answer is not coded here.
with responses as (
    select response_key, file_sha256, organisation_id, wave
    from {{ ref('stg_validated__responses') }} as responses
    {{- in_partitions_to_build('responses') }}
),

texts as (
    select * from {{ ref('stg_validated__open_answers') }} as texts
    {{- in_partitions_to_build('texts') }}
),

answers as (
    select * from {{ ref('stg_validated__answers') }} as answers
    {{- in_partitions_to_build('answers') }}
),

open_answers as (
    select
        responses.organisation_id,
        responses.wave,
        texts.response_key,
        texts.file_sha256,
        texts.question_id,
        texts.question_version,
        {{ words_for_matching('texts.text_redacted') }} as text_words
    from texts
    inner join responses
        on texts.response_key = responses.response_key
        and texts.file_sha256 = responses.file_sha256
    where texts.part = 'answer' and trim(texts.text_redacted) <> ''
),

analyst_coded as (
    select distinct response_key, file_sha256, question_id
    from answers
    where coded_by = 'analyst'
),

to_code as (
    select open_answers.*
    from open_answers
    {{ coprod.anti_join() }} analyst_coded
        on open_answers.response_key = analyst_coded.response_key
        and open_answers.file_sha256 = analyst_coded.file_sha256
        and open_answers.question_id = analyst_coded.question_id
),

phrases as (
    select question_id, code, priority, {{ words_for_matching('phrase') }} as phrase_words
    from {{ ref('ref_codebook') }}
),

questions as (
    select question_id, open_coding, fallback_code
    from {{ ref('ref_questions') }}
    where answer_type = 'open'
),

matches as (
    select
        to_code.organisation_id,
        to_code.wave,
        to_code.response_key,
        to_code.file_sha256,
        to_code.question_id,
        to_code.question_version,
        phrases.code,
        phrases.priority
    from to_code
    inner join phrases
        on to_code.question_id = phrases.question_id
        and {{ coprod.text_contains('to_code.text_words', 'phrases.phrase_words') }}
),

ranked as (
    select
        matches.*,
        questions.open_coding,
        row_number() over (
            partition by matches.response_key, matches.file_sha256, matches.question_id
            order by matches.priority, matches.code
        ) as match_rank
    from matches
    inner join questions on matches.question_id = questions.question_id
),

coded as (
    select distinct
        organisation_id, wave, response_key, file_sha256, question_id, question_version,
        code as option_code
    from ranked
    where open_coding = 'themes' or match_rank = 1
),

uncoded as (
    select
        to_code.organisation_id,
        to_code.wave,
        to_code.response_key,
        to_code.file_sha256,
        to_code.question_id,
        to_code.question_version,
        questions.fallback_code as option_code
    from to_code
    inner join questions on to_code.question_id = questions.question_id
    {{ coprod.anti_join() }} coded
        on to_code.response_key = coded.response_key
        and to_code.file_sha256 = coded.file_sha256
        and to_code.question_id = coded.question_id
)

select *, 'codebook' as coded_by from coded
union all
select *, 'codebook' as coded_by from uncoded
