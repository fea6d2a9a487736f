{{ config(meta={'dagster': {'ref': {'name': 'int_suppression_families'}}}) }}
-- Secondary suppression must leave no family where a published total and all-but-one published
-- children would give away the one withheld child.
select *
from {{ ref('int_suppression_families') }}
where parent_published and children > 1 and withheld_children = 1
