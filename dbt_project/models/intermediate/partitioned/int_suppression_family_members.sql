-- Families of cells that add up to a parent cell (see int_measure_cells_suppressed): one row per
-- family and member. Which breakdowns are totals of which is int_breakdown_families', read from
-- ref_breakdowns; here each cell joins the families it is a parent or a child in. A family is
-- one parent cell and the cells of the finer breakdown inside it, so its scope is the parent's
-- service and group (a child's mapped up: a role to its roll-up, any service to 'all').
with cells as (
    select cell_id, organisation_id, wave, measure_id, breakdown, service_id, group_id
    from {{ ref('int_measure_cells') }} as cells
    {{- in_partitions_to_build('cells') }}
),

families as (
    select * from {{ ref('int_breakdown_families') }}
),

respondent_groups as (
    select group_id, rollup from {{ ref('ref_respondent_groups') }}
),

parents as (
    select
        families.family,
        families.steps,
        cells.cell_id,
        true as is_parent,
        cells.organisation_id,
        cells.wave,
        cells.measure_id,
        cells.service_id as scope_service_id,
        cells.group_id as scope_group_id
    from cells
    inner join families on cells.breakdown = families.parent_breakdown
),

children as (
    select
        families.family,
        families.steps,
        cells.cell_id,
        false as is_parent,
        cells.organisation_id,
        cells.wave,
        cells.measure_id,
        case
            when families.parent_service_level = 'organisation' then 'all'
            else cells.service_id
        end as scope_service_id,
        case
            when families.parent_group_level = 'all' then 'all'
            when families.parent_group_level = families.child_group_level then cells.group_id
            else coalesce(respondent_groups.rollup, cells.group_id)
        end as scope_group_id
    from cells
    inner join families on cells.breakdown = families.child_breakdown
    left join respondent_groups on cells.group_id = respondent_groups.group_id
),

members as (
    select * from parents
    union all
    select * from children
)

select
    family,
    steps,
    organisation_id,
    wave,
    measure_id,
    cell_id,
    is_parent,
    scope_service_id || '/' || scope_group_id as scope,
    concat_ws('|', family, organisation_id, wave, measure_id, scope_service_id, scope_group_id)
        as family_id
from members
