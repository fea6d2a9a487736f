-- Disclosure control, applied once here so that every published mart follows the same rules.
--
-- Primary: a cell whose n (the measure's denominator: valid answers, answers or respondents)
-- is below var('min_cell_size') is withheld (n, k and the percentage); a respondent count
-- (respondents_measure_id()) with fewer respondents likewise.
-- Secondary: cells that add up to a parent form a family. If a published parent has exactly
-- one withheld child among several, that child could be worked out by subtraction, so the
-- smallest other child (ties: by id) is withheld too. The families are declared in
-- int_suppression_family_members.
-- Withholding one cell can expose another family, so the rule is applied in rounds; the test
-- assert_no_cell_recoverable_by_subtraction proves the rounds were enough. Round r judges the
-- families whose breakdowns are at most r steps apart (int_breakdown_families): neighbours
-- first, so that a total two levels up (the organisation over each service's roles) withholds
-- a cell of its own only where its neighbours' rounds left a withheld part recoverable. Judged
-- in the same round, both would withhold a cell each for the same exposure.
{% set rounds = 6 %}

with cells as (
    select * from {{ ref('int_measure_cells') }} as cells
    {{- in_partitions_to_build('cells') }}
),

members as (
    select family_id, family, steps, cell_id, is_parent
    from {{ ref('int_suppression_family_members') }} as members
    {{- in_partitions_to_build('members') }}
),

measures as (
    select measure_id, denominator from {{ ref('int_measures') }}
),

-- the reason names what n counts: the measure's denominator, or the cell's respondents
round_0 as (
    select
        cells.cell_id,
        cells.n,
        cells.n < {{ var('min_cell_size') }} as suppressed,
        case
            when cells.n >= {{ var('min_cell_size') }} then null
            when cells.measure_id = {{ coprod.respondents_measure_id() }}
                or measures.denominator = 'respondents'
                then 'fewer than {{ var("min_cell_size") }} respondents'
            when measures.denominator = 'answered'
                then 'fewer than {{ var("min_cell_size") }} answers'
            else 'fewer than {{ var("min_cell_size") }} valid answers'
        end as suppression_reason
    from cells
    left join measures on cells.measure_id = measures.measure_id
),

-- The families that can be exposed, those with several children (a family of one child has
-- none to protect it with: leaving it out changes no round), with their children numbered in
-- the order a candidate is picked (smallest n, then id). n does not change between rounds, so
-- a round's first candidate is the child still published with the lowest number: each round
-- then needs one pass over its families, not a sort of every family's children again.
families as (
    select cell_id, family_id, family, steps, is_parent, child_order
    from (
        select
            members.cell_id,
            members.family_id,
            members.family,
            members.steps,
            members.is_parent,
            sum(case when not members.is_parent then 1 else 0 end)
                over (partition by members.family_id) as children,
            case when not members.is_parent then row_number() over (
                partition by members.family_id, members.is_parent
                order by round_0.n, members.cell_id
            ) end as child_order
        from members
        inner join round_0 on members.cell_id = round_0.cell_id
    ) as numbered
    where children > 1
),

{#- Each round reads the previous one once: a round that read it three times (once for the
    exposed families, once for their candidates, once to carry it on) made Spark, which
    inlines every CTE, compute round 0 4^4 times over. -#}
{% for r in range(1, rounds + 1) %}
judged_{{ r }} as (
    -- every cell with each family it belongs to (none: one row, family_id null), whether that
    -- family is exposed (its parent published and exactly one of its several children
    -- withheld), and the family's first candidate (child still published) in order
    select
        state.cell_id,
        state.n,
        state.suppressed,
        state.suppression_reason,
        families.family,
        families.child_order,
        families.family_id is not null
            and families.steps <= {{ r }}
            and max(case when families.is_parent and not state.suppressed then 1 else 0 end)
                over (partition by families.family_id) = 1
            and sum(case when not families.is_parent and state.suppressed then 1 else 0 end)
                over (partition by families.family_id) = 1
            as family_exposed,
        min(case when not families.is_parent and not state.suppressed then families.child_order end)
            over (partition by families.family_id) as first_candidate_order
    from round_{{ r - 1 }} as state
    left join families on state.cell_id = families.cell_id
),

round_{{ r }} as (
    -- a cell first among the candidates of an exposed family is withheld too
    select
        cell_id,
        min(n) as n,
        bool_or(suppressed or coalesce(
            family_exposed and not suppressed and child_order = first_candidate_order, false
        )) as suppressed,
        coalesce(
            min(suppression_reason),
            'secondary: protects a withheld cell among '
            || replace(min(case
                when family_exposed and not suppressed and child_order = first_candidate_order
                    then family
            end), '_', ' ')
        ) as suppression_reason
    from judged_{{ r }}
    group by cell_id
){{ "," if not loop.last }}
{% endfor %}

select
    cells.*,
    final.suppressed,
    final.suppression_reason
from cells
inner join round_{{ rounds }} as final on cells.cell_id = final.cell_id
