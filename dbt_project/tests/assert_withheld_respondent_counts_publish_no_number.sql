{{ config(meta={'dagster': {'ref': {'name': 'mart_respondents'}}}) }}
-- A withheld respondent count is not published and says why; a published one meets the
-- minimum size.
select *
from {{ ref('mart_respondents') }}
where (suppressed and (n_respondents is not null or suppression_reason is null))
   or (not suppressed and (n_respondents is null or n_respondents < {{ var('min_cell_size') }}))
