-- Published: the gap between two respondent groups (var('gap_higher_group') minus
-- var('gap_lower_group'): senior leaders or managers and frontline workers) on each measure,
-- per organisation and wave, in percentage points, with a two-proportion z-test. Each group's
-- figures are printed as in mart_measures; the gap is withheld when either group's is.
-- Grain: organisation_id, wave, measure_id.
-- The groups' cells are those of the organisation-wide breakdown by role in ref_breakdowns.
with role_breakdown as (
    select breakdown from {{ ref('ref_breakdowns') }}
    where service_level = 'organisation' and group_level = 'group'
),

cells as (
    select labelled.*
    from {{ ref('int_measure_cells_labelled') }} as labelled
    inner join role_breakdown on labelled.breakdown = role_breakdown.breakdown
),

higher_group as (
    select * from cells where group_id = '{{ var("gap_higher_group") }}'
),

lower_group as (
    select * from cells where group_id = '{{ var("gap_lower_group") }}'
),

pairs as (
    select
        higher_group.organisation_id,
        higher_group.organisation_name,
        higher_group.organisation_type,
        higher_group.wave,
        higher_group.breakdown,
        higher_group.service_id,
        higher_group.service_name,
        higher_group.measure_id,
        higher_group.measure_label,
        higher_group.measure_family,
        higher_group.question_id,
        higher_group.denominator,
        higher_group.option_code,
        higher_group.group_id as higher_group_id,
        higher_group.group_label as higher_group_label,
        higher_group.n as higher_n,
        higher_group.k as higher_k,
        higher_group.suppressed as higher_suppressed,
        lower_group.group_id as lower_group_id,
        lower_group.group_label as lower_group_label,
        lower_group.n as lower_n,
        lower_group.k as lower_k,
        lower_group.suppressed as lower_suppressed
    from higher_group
    inner join lower_group
        on higher_group.organisation_id = lower_group.organisation_id
        and higher_group.wave = lower_group.wave
        and higher_group.measure_id = lower_group.measure_id
)

select
    organisation_id,
    organisation_name,
    organisation_type,
    cast(wave as integer) as wave,
    breakdown,
    service_id,
    service_name,
    measure_id,
    measure_label,
    measure_family,
    question_id,
    denominator,
    option_code,
    higher_group_id,
    higher_group_label,
    {{ cell_figures('higher_k', 'higher_n', 'not higher_suppressed', '_higher') }},
    lower_group_id,
    lower_group_label,
    {{ cell_figures('lower_k', 'lower_n', 'not lower_suppressed', '_lower') }},
    {{ proportion_comparison('lower_k', 'lower_n', 'higher_k', 'higher_n',
        'not (higher_suppressed or lower_suppressed)', 'gap_pp', 'lower_group') }},
    higher_suppressed or lower_suppressed as suppressed
from pairs
