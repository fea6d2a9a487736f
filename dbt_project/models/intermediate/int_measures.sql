-- The measure catalogue: the hand-written measures in ref_measures.csv, each distribution
-- declared there spread into one measure per option, and one prevalence measure per theme of
-- every open question coded into themes (generated from the codebook's option sets, so a new
-- theme needs no SQL).
--
-- denominator (README: adding a measure): valid (answers with at least one valid option, the
-- default), answered (any answer, "Don't know" included) or respondents (every counted
-- respondent the measure applies to whose questionnaire asked the question, blanks included).
-- A distribution (kind distribution) is one measure <measure_id>__<option_code> per option of
-- its question, labelled "<label>: <option label>", each counting that option over the
-- declared denominator, so that the options' shares add up to 100: over valid answers the
-- valid options only; over answers every option; over respondents every option and
-- <measure_id>__no_answer, the respondents who left the question blank.
with declared as (
    select
        measure_id,
        label,
        family,
        question_id,
        numerator_codes,
        applies_to,
        description,
        coalesce(denominator, 'valid') as denominator,
        coalesce(kind, 'share') as kind
    from {{ ref('ref_measures') }}
),

options as (
    select answer_options.*, questions.question_id
    from {{ ref('ref_questions') }} as questions
    inner join {{ ref('ref_answer_options') }} as answer_options
        on questions.option_set_id = answer_options.option_set_id
),

shares as (
    select
        measure_id,
        label as measure_label,
        family as measure_family,
        question_id,
        numerator_codes,
        applies_to,
        description,
        denominator,
        cast(null as string) as option_code,
        false as counts_no_answer
    from declared
    where kind = 'share'
),

distributions as (
    select
        declared.measure_id || '__' || options.option_code as measure_id,
        declared.label || ': ' || options.label as measure_label,
        declared.family as measure_family,
        declared.question_id,
        options.option_code as numerator_codes,
        declared.applies_to,
        declared.description,
        declared.denominator,
        options.option_code,
        false as counts_no_answer
    from declared
    inner join options
        on declared.question_id = options.question_id
        and (options.is_valid or declared.denominator <> 'valid')
    where declared.kind = 'distribution'
    union all
    select
        measure_id || '__no_answer' as measure_id,
        label || ': No answer' as measure_label,
        family as measure_family,
        question_id,
        cast(null as string) as numerator_codes,
        applies_to,
        description,
        denominator,
        'no_answer' as option_code,
        true as counts_no_answer
    from declared
    where kind = 'distribution' and denominator = 'respondents'
),

themes as (
    select
        'theme_' || lower(questions.question_id) || '__' || answer_options.option_code
            as measure_id,
        questions.concept || ': ' || answer_options.label as measure_label,
        'theme' as measure_family,
        questions.question_id,
        answer_options.option_code as numerator_codes,
        questions.asked_of as applies_to,
        'Answers coded with this theme over non-blank answers (an answer can have several themes)'
            as description,
        'valid' as denominator,
        cast(null as string) as option_code,
        false as counts_no_answer
    from {{ ref('ref_questions') }} as questions
    inner join {{ ref('ref_answer_options') }} as answer_options
        on questions.option_set_id = answer_options.option_set_id
    where questions.open_coding = 'themes'
      and answer_options.option_code <> questions.fallback_code
)

select * from shares
union all
select * from distributions
union all
select * from themes
