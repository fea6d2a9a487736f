{{ config(meta={'dagster': {'ref': {'name': 'mart_measures'}}}) }}
-- A withheld cell publishes no count, percentage or interval, and says why it is withheld;
-- a published cell meets the minimum size.
select *
from {{ ref('mart_measures') }}
where (suppressed and (n is not null or k is not null or pct is not null
                       or ci_low is not null or ci_high is not null or suppression_reason is null))
   or (not suppressed and n < {{ var('min_cell_size') }})
