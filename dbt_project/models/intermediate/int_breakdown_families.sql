-- Every pair of declared breakdowns (ref_breakdowns) where one is a total of the other: the
-- finer breakdown splits the coarser one along the service axis, the group axis or both (each
-- service of the organisation, each role of a roll-up, each service's roles of the whole
-- organisation...). Each pair is a family of suppression (int_suppression_family_members):
-- every cell of the coarser breakdown is the total of the finer cells inside it. Every pair,
-- not only neighbours: withheld cells two levels down can otherwise be recovered from the
-- total above, once each level in between is published or recoverable.
with breakdowns as (
    select
        breakdown,
        service_level,
        group_level,
        case service_level when 'organisation' then 0 else 1 end as service_rank,
        case group_level when 'all' then 0 when 'rollup' then 1 else 2 end as group_rank,
        -- how a cell of this breakdown is named in a family's name
        case
            when service_level = 'organisation' and group_level = 'all' then 'organisation'
            when service_level = 'organisation' then group_level
            when group_level = 'all' then 'service'
            else 'service_' || group_level
        end as cell_name
    from {{ ref('ref_breakdowns') }}
)

select
    parent.breakdown as parent_breakdown,
    child.breakdown as child_breakdown,
    parent.service_level as parent_service_level,
    parent.group_level as parent_group_level,
    child.group_level as child_group_level,
    -- its parts, then its total: services_of_organisation, groups_of_rollup, services_of_group...
    case
        when child.group_rank = parent.group_rank then 'services'
        when child.service_rank = parent.service_rank then child.group_level || 's'
        else 'service_' || child.group_level || 's'
    end || '_of_' || parent.cell_name as family,
    -- how far apart they are: 1 for neighbours (one step on one axis), up to 3
    (child.service_rank - parent.service_rank) + (child.group_rank - parent.group_rank) as steps
from breakdowns as parent
inner join breakdowns as child
    on parent.service_rank <= child.service_rank
    and parent.group_rank <= child.group_rank
    and (parent.service_rank < child.service_rank or parent.group_rank < child.group_rank)
