-- Disclosure control, applied once here so that every published mart follows the same rules.
--
-- Primary: a cell with fewer than var('min_cell_size') valid answers is withheld (n, k and the
-- percentage).
-- Secondary: cells that add up to a parent form a family. If a published parent has exactly
-- one withheld child among several, that child could be worked out by subtraction, so the
-- smallest other child (ties: by id) is withheld too. The families are declared in
-- int_suppression_family_members.
-- Withholding one cell can expose another family, so the rule is applied in rounds; the test
-- assert_no_cell_recoverable_by_subtraction proves the rounds were enough.
{% set rounds = 4 %}

with cells as (
    select
        *,
        n < {{ var('min_cell_size') }} as suppressed,
        case when n < {{ var('min_cell_size') }}
            then 'fewer than {{ var("min_cell_size") }} valid answers'
        end as suppression_reason
    from {{ ref('int_measure_cells') }} as cells
    {{- in_partitions_to_build('cells') }}
),

members as (
    select family_id, family, cell_id, is_parent
    from {{ ref('int_suppression_family_members') }} as members
    {{- in_partitions_to_build('members') }}
),

round_0 as (
    select cell_id, n, suppressed, suppression_reason from cells
),

{% for r in range(1, rounds + 1) %}
exposed_{{ r }} as (
    -- families whose parent is published and exactly one of several children is withheld
    select members.family_id
    from members
    inner join round_{{ r - 1 }} as state on members.cell_id = state.cell_id
    group by members.family_id
    having bool_or(members.is_parent and not state.suppressed)
       and count(*) filter (where not members.is_parent) > 1
       and count(*) filter (where not members.is_parent and state.suppressed) = 1
),

picked_{{ r }} as (
    -- the first candidate of each family: smallest n, then by id
    select family_id, family, cell_id
    from (
        select
            members.family_id,
            members.family,
            members.cell_id,
            row_number() over (
                partition by members.family_id order by state.n, members.cell_id
            ) as pick_order
        from members
        inner join exposed_{{ r }} on members.family_id = exposed_{{ r }}.family_id
        inner join round_{{ r - 1 }} as state on members.cell_id = state.cell_id
        where not members.is_parent and not state.suppressed
    ) as candidates
    where pick_order = 1
),

round_{{ r }} as (
    select
        state.cell_id,
        state.n,
        state.suppressed or picks.cell_id is not null as suppressed,
        coalesce(
            state.suppression_reason,
            case when picks.cell_id is not null then
                'secondary: protects a withheld cell among '
                || replace(picks.family, '_', ' ')
            end
        ) as suppression_reason
    from round_{{ r - 1 }} as state
    left join (
        select cell_id, min(family) as family from picked_{{ r }} group by cell_id
    ) as picks on state.cell_id = picks.cell_id
){{ "," if not loop.last }}
{% endfor %}

select
    {{ columns_of(ref('int_measure_cells'), 'cells') }},
    final.suppressed,
    final.suppression_reason
from cells
inner join round_{{ rounds }} as final on cells.cell_id = final.cell_id
