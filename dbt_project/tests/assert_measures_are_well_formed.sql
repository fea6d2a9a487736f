{{ config(tags=['reference'], meta={'dagster': {'ref': {'name': 'ref_measures'}}}) }}
-- Every row of ref_measures.csv can be counted as it says; each row returned names a mistake.
-- A share names its numerator codes, each an option of its question; one over valid answers
-- only valid options (an answer with no valid option is not in its denominator, so counting
-- one would count answers n leaves out). A distribution names none (it counts every option),
-- is of a question with one answer per respondent (single choice, or an open question coded
-- one code per answer: a multi-select's options do not add up to 100), and over respondents
-- needs the code no_answer free for its blanks.
with measures as (
    select
        measure_id,
        question_id,
        numerator_codes,
        coalesce(denominator, 'valid') as denominator,
        coalesce(kind, 'share') as kind
    from {{ ref('ref_measures') }}
),

questions as (
    select * from {{ ref('ref_questions') }}
),

options as (
    select questions.question_id, answer_options.option_code, answer_options.is_valid
    from questions
    inner join {{ ref('ref_answer_options') }} as answer_options
        on questions.option_set_id = answer_options.option_set_id
),

numerators as (
    select
        measures.measure_id,
        -- codes named: one more than the separators
        max(length(measures.numerator_codes) - length(replace(measures.numerator_codes, '|', '')))
            + 1 as codes_named,
        count(options.option_code) as codes_found,
        count(case when not options.is_valid then 1 end) as invalid_found
    from measures
    left join options
        on measures.question_id = options.question_id
        and {{ coprod.text_contains(
            "'|' || measures.numerator_codes || '|'", "'|' || options.option_code || '|'"
        ) }}
    where measures.kind = 'share' and measures.numerator_codes is not null
    group by measures.measure_id
),

problems as (
    select measure_id, 'a share measure needs numerator_codes' as problem
    from measures
    where kind = 'share' and numerator_codes is null
    union all
    select measure_id, 'numerator_codes name a code that is not an option of the question'
        as problem
    from numerators
    where codes_found <> codes_named
    union all
    select numerators.measure_id,
        'a measure over valid answers counts an option that is not valid: use denominator answered'
            as problem
    from numerators
    inner join measures on numerators.measure_id = measures.measure_id
    where measures.denominator = 'valid' and numerators.invalid_found > 0
    union all
    select measure_id, 'a distribution counts every option: leave numerator_codes blank'
        as problem
    from measures
    where kind = 'distribution' and numerator_codes is not null
    union all
    select measures.measure_id,
        'a distribution needs a question with one answer per respondent '
        || '(single choice, or open coded level)' as problem
    from measures
    inner join questions on measures.question_id = questions.question_id
    where measures.kind = 'distribution'
        and not (
            questions.answer_type = 'single'
            or (questions.answer_type = 'open' and coalesce(questions.open_coding, '') = 'level')
        )
    union all
    select measures.measure_id,
        'the option code no_answer is reserved for the blanks of a distribution over respondents'
            as problem
    from measures
    inner join options on measures.question_id = options.question_id
    where measures.kind = 'distribution'
        and measures.denominator = 'respondents'
        and options.option_code = 'no_answer'
)

select * from problems
