-- Each family of cells after suppression, with how many children are withheld: the evidence
-- an auditor (and the test assert_no_cell_recoverable_by_subtraction) checks to see that no
-- withheld value can be recovered by subtracting published ones from a published total.
select
    members.family_id,
    members.family,
    members.organisation_id,
    members.wave,
    members.measure_id,
    members.scope,
    bool_or(members.is_parent and not cells.suppressed) as parent_published,
    count(*) filter (where not members.is_parent) as children,
    count(*) filter (where not members.is_parent and cells.suppressed) as withheld_children
from {{ ref('int_suppression_family_members') }} as members
inner join {{ ref('int_measure_cells_suppressed') }} as cells
    on members.cell_id = cells.cell_id
{{ in_partitions_to_build('members') }}
group by all
