{{ config(tags=['reference'], meta={'dagster': {'ref': {'name': 'int_measures'}}}) }}
-- The respondent counts are cells of the reserved measure id respondents_measure_id(): a
-- measure of that name in ref_measures.csv would be counted into them.
select measure_id
from {{ ref('int_measures') }}
where measure_id = {{ coprod.respondents_measure_id() }}
