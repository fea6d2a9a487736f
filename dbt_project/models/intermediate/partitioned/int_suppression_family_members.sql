-- Families of cells that add up to a parent cell (see int_measure_cells_suppressed): one row per
-- family and member. A cell can be a child in several families and a parent in others.
--   services_of_organisation   services            -> organisation
--   rollups_of_organisation    workforce, lived    -> organisation
--   groups_of_rollup           roles in a roll-up  -> that roll-up (organisation level)
--   rollups_of_service         service x roll-up   -> the service
--   services_of_rollup         service x roll-up   -> the roll-up (organisation level)
with cells as (
    select cell_id, organisation_id, wave, measure_id, breakdown, service_id, group_id
    from {{ ref('int_measure_cells') }} as cells
    {{- in_partitions_to_build('cells') }}
),

respondent_groups as (
    select group_id, rollup from {{ ref('ref_respondent_groups') }}
),

members as (
    select 'services_of_organisation' as family, 'all' as scope, cell_id,
        breakdown = 'organisation' as is_parent, organisation_id, wave, measure_id
    from cells where breakdown in ('service', 'organisation')
    union all
    select 'rollups_of_organisation' as family, 'all' as scope, cell_id,
        breakdown = 'organisation' as is_parent, organisation_id, wave, measure_id
    from cells where breakdown in ('organisation_rollup', 'organisation')
    union all
    select 'groups_of_rollup' as family,
        coalesce(respondent_groups.rollup, cells.group_id) as scope, cells.cell_id,
        cells.breakdown = 'organisation_rollup' as is_parent, cells.organisation_id, cells.wave,
        cells.measure_id
    from cells left join respondent_groups on cells.group_id = respondent_groups.group_id
    where cells.breakdown in ('organisation_group', 'organisation_rollup')
    union all
    select 'rollups_of_service' as family, service_id as scope, cell_id,
        breakdown = 'service' as is_parent, organisation_id, wave, measure_id
    from cells where breakdown in ('service_rollup', 'service')
    union all
    select 'services_of_rollup' as family, group_id as scope, cell_id,
        breakdown = 'organisation_rollup' as is_parent, organisation_id, wave, measure_id
    from cells where breakdown in ('service_rollup', 'organisation_rollup')
)

select
    family,
    organisation_id,
    wave,
    measure_id,
    scope,
    cell_id,
    is_parent,
    concat_ws('|', family, organisation_id, wave, measure_id, scope) as family_id
from members
