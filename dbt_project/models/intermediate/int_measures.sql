-- The measure catalogue: the hand-written measures in ref_measures.csv plus one prevalence
-- measure per theme of every open question coded into themes (generated from the codebook's
-- option sets, so a new theme needs no SQL).
with catalogue as (
    select
        measure_id,
        label as measure_label,
        family as measure_family,
        question_id,
        numerator_codes,
        applies_to,
        description
    from {{ ref('ref_measures') }}
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
            as description
    from {{ ref('ref_questions') }} as questions
    inner join {{ ref('ref_answer_options') }} as answer_options
        on questions.option_set_id = answer_options.option_set_id
    where questions.open_coding = 'themes'
      and answer_options.option_code <> questions.fallback_code
)

select * from catalogue
union all
select * from themes
