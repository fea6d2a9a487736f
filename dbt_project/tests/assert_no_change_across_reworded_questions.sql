{{ config(meta={'dagster': {'ref': {'name': 'mart_measure_changes'}}}) }}
-- The comparability rule: no change or significance is published between waves whose question
-- versions are not declared equivalent.
select *
from {{ ref('mart_measure_changes') }}
where (not comparable_with_baseline
       and (change_pp_from_baseline is not null or p_value_vs_baseline is not null))
   or (not comparable_with_previous
       and (change_pp_from_previous is not null or p_value_vs_previous is not null))
