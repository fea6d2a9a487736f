{{ config(meta={'dagster': {'ref': {'name': 'int_suppression_family_members'}}}) }}
-- A family is one total and its parts: a part whose total is missing (a child mapped to a
-- parent cell that does not exist) would leave it outside the recoverability check. Only the
-- partitions this build recomputes: the others were checked when they were built.
select members.family_id
from {{ ref('int_suppression_family_members') }} as members
where {{ in_partitions_in_build('members') }}
group by members.family_id
having count(case when members.is_parent then 1 end) <> 1
