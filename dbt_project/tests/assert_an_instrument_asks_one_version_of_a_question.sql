{{ config(tags=['reference'], meta={'dagster': {'ref': {'name': 'ref_instrument_columns'}}}) }}
-- A questionnaire (instrument) asks each question in one wording: the respondents denominator
-- counts, as asked, every respondent whose instrument has an answer column for the question,
-- under that version (int_measure_cells); two versions would count them twice.
select instrument_id, question_id
from {{ ref('ref_instrument_columns') }}
where column_role = 'answer'
group by instrument_id, question_id
having count(distinct question_version) > 1
