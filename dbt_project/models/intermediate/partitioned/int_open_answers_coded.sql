-- Every non-blank open answer with its code(s) and who gave them:
--   1. an analyst, in a coding sheet dropped into data/coding/ (ingest/analyst_codes), keyed by
--      response and question, so a re-export of the same responses keeps its codes;
--   2. else an analyst, in a coding column of the export itself;
--   3. else the codebook (ref_codebook.csv, phrases prepared in int_codebook_phrases).
-- A codebook rule matches when each of its parts (who, how...) has a phrase in the answer and
-- none of its `unless` phrases is there. Phrases match as whole words, any case (answers and
-- phrases reduced to their words, then plain substring searches: a regular expression per
-- answer and phrase cost a minute per million answers); a [bracketed] phrase only the whole
-- answer, or with a closing ... ([not really ...]) only its start. 'level' questions get the
-- code of the matching rule with the lowest priority number; 'themes' questions every code
-- found at the lowest matching priority (so "unaware of challenges", priority 2, is given only
-- when no challenge, priority 1, is named). No rule: the question's fallback code.
-- coded_because says why, for the analyst reading the coding sheet.
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

sheet_codes as (
    select * from {{ ref('stg_validated__analyst_codes') }} as sheet_codes
    {{- in_partitions_to_build('sheet_codes') }}
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

from_sheet as (
    select
        open_answers.organisation_id,
        open_answers.wave,
        open_answers.response_key,
        open_answers.file_sha256,
        open_answers.question_id,
        open_answers.question_version,
        sheet_codes.option_code,
        'analyst' as coded_by,
        'analyst: coding sheet' as coded_because
    from open_answers
    inner join sheet_codes
        on open_answers.organisation_id = sheet_codes.organisation_id
        and open_answers.wave = sheet_codes.wave
        and open_answers.response_key = sheet_codes.response_key
        and open_answers.question_id = sheet_codes.question_id
),

from_export as (
    select
        answers.organisation_id,
        answers.wave,
        answers.response_key,
        answers.file_sha256,
        answers.question_id,
        answers.question_version,
        answers.option_code,
        'analyst' as coded_by,
        'analyst: coding column of the export' as coded_because
    from answers
    {{ coprod.anti_join() }} from_sheet
        on answers.response_key = from_sheet.response_key
        and answers.file_sha256 = from_sheet.file_sha256
        and answers.question_id = from_sheet.question_id
    where answers.coded_by = 'analyst'
),

analyst_coded as (
    select response_key, file_sha256, question_id from from_sheet
    union
    select response_key, file_sha256, question_id from from_export
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
    select * from {{ ref('int_codebook_phrases') }}
),

rule_parts as (
    select question_id, code, rule, count(distinct part) as parts
    from phrases
    where part <> 'unless'
    group by question_id, code, rule
),

questions as (
    select question_id, open_coding, fallback_code
    from {{ ref('ref_questions') }}
    where answer_type = 'open'
),

-- Each distinct answer text is matched once per question, then its codes are given to every
-- answer with that text: answers repeat ("No", "Don't know", the same sentence pasted by many
-- respondents), and matching every answer against every phrase cost ten seconds per 100,000
-- answers. A code depends only on the question and the answer's words, so this is the same.
texts_to_code as (
    select distinct question_id, text_words
    from to_code
),

-- Each distinct answer is tested only against the phrases that could occur in it, not against
-- every phrase of its question (ten seconds per 100,000 distinct answers with ~600 phrases):
-- a phrase occurs only in an answer with a word of its lookup key (int_codebook_phrases), so
-- the candidates are the phrases whose key is one of the answer's words' keys, plus those
-- without a key, and each is then tested as before (phrase_occurs): the same matches.
answer_words as (
    select
        question_id,
        text_words,
        {{ coprod.unnest_to_rows(coprod.split_to_array('text_words', ' ')) }} as word
    from texts_to_code
),

answer_word_keys as (
    select distinct question_id, text_words, {{ word_lookup_key('word') }} as lookup_key
    from answer_words
),

candidates as (
    select
        answer_word_keys.question_id,
        answer_word_keys.text_words,
        phrases.code,
        phrases.priority,
        phrases.rule,
        phrases.part,
        phrases.phrase,
        phrases.anchor,
        phrases.before_words,
        phrases.after_words
    from answer_word_keys
    inner join phrases
        on answer_word_keys.question_id = phrases.question_id
        and answer_word_keys.lookup_key = phrases.lookup_key
    union all
    select
        texts_to_code.question_id,
        texts_to_code.text_words,
        phrases.code,
        phrases.priority,
        phrases.rule,
        phrases.part,
        phrases.phrase,
        phrases.anchor,
        phrases.before_words,
        phrases.after_words
    from texts_to_code
    inner join phrases
        on texts_to_code.question_id = phrases.question_id
        and phrases.lookup_key is null
),

found as (
    select question_id, text_words, code, priority, rule, part, phrase
    from candidates
    where {{ phrase_occurs('text_words', 'before_words', 'after_words', 'anchor') }}
),

rules_found as (
    select
        question_id, text_words, code, priority, rule,
        count(distinct case when part <> 'unless' then part end) as parts_found,
        count(case when part = 'unless' then 1 end) as unless_found,
        {{ coprod.string_agg_distinct_sorted("case when part <> 'unless' then phrase end", ', ') }}
            as phrases_found
    from found
    group by question_id, text_words, code, priority, rule
),

matched as (
    select
        rules_found.*,
        questions.open_coding,
        min(rules_found.priority) over (
            partition by rules_found.question_id, rules_found.text_words
        ) as best_priority,
        row_number() over (
            partition by rules_found.question_id, rules_found.text_words
            order by rules_found.priority, rules_found.code, rules_found.rule
        ) as match_rank
    from rules_found
    inner join rule_parts
        on rules_found.question_id = rule_parts.question_id
        and rules_found.code = rule_parts.code
        and rules_found.rule = rule_parts.rule
    inner join questions on rules_found.question_id = questions.question_id
    where rules_found.parts_found = rule_parts.parts and rules_found.unless_found = 0
),

coded_texts as (
    select
        question_id,
        text_words,
        code as option_code,
        {{ coprod.string_agg_distinct_sorted("rule || ' (' || phrases_found || ')'", '; ') }}
            as coded_because
    from matched
    where priority = best_priority and (open_coding = 'themes' or match_rank = 1)
    group by question_id, text_words, code
),

uncoded_texts as (
    select
        texts_to_code.question_id,
        texts_to_code.text_words,
        questions.fallback_code as option_code,
        'no rule matched: the fallback code' as coded_because
    from texts_to_code
    inner join questions on texts_to_code.question_id = questions.question_id
    {{ coprod.anti_join() }} coded_texts
        on texts_to_code.question_id = coded_texts.question_id
        and texts_to_code.text_words = coded_texts.text_words
),

text_codes as (
    select question_id, text_words, option_code, coded_because from coded_texts
    union all
    select question_id, text_words, option_code, coded_because from uncoded_texts
),

coded as (
    select
        to_code.organisation_id,
        to_code.wave,
        to_code.response_key,
        to_code.file_sha256,
        to_code.question_id,
        to_code.question_version,
        text_codes.option_code,
        'codebook' as coded_by,
        text_codes.coded_because
    from to_code
    inner join text_codes
        on to_code.question_id = text_codes.question_id
        and to_code.text_words = text_codes.text_words
)

select * from from_sheet
union all
select * from from_export
union all
select * from coded
