{{ config(tags=['reference'], meta={'dagster': {'ref': {'name': 'ref_codebook'}}}) }}
-- Every code the codebook gives is an option of its question (a misspelt code in
-- ref_codebook.csv would otherwise code answers into a code no measure counts).
select codebook.question_id, codebook.code, codebook.rule
from {{ ref('ref_codebook') }} as codebook
inner join {{ ref('ref_questions') }} as questions
    on codebook.question_id = questions.question_id
left join {{ ref('ref_answer_options') }} as answer_options
    on questions.option_set_id = answer_options.option_set_id
    and codebook.code = answer_options.option_code
where answer_options.option_code is null
