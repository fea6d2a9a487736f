-- Published: the gap between managers and frontline workers on each measure, per organisation
-- and wave, in percentage points (manager minus frontline), with a two-proportion z-test.
-- The groups compared are var('gap_higher_group') and var('gap_lower_group'). Withheld when
-- either group's cell is suppressed.
-- Grain: organisation_id, wave, measure_id.
with groups as (
    select * from {{ ref('int_measure_cells_labelled') }}
    where breakdown = 'organisation_group'
      and group_id in ('{{ var("gap_higher_group") }}', '{{ var("gap_lower_group") }}')
),

pairs as (
    select
        higher.organisation_id,
        higher.organisation_name,
        higher.wave,
        higher.measure_id,
        higher.measure_label,
        higher.n as higher_n, higher.k as higher_k, higher.suppressed as higher_suppressed,
        lower_group.n as lower_n, lower_group.k as lower_k,
        lower_group.suppressed as lower_suppressed
    from groups as higher
    inner join groups as lower_group
        on higher.organisation_id = lower_group.organisation_id
        and higher.wave = lower_group.wave
        and higher.measure_id = lower_group.measure_id
        and lower_group.group_id = '{{ var("gap_lower_group") }}'
    where higher.group_id = '{{ var("gap_higher_group") }}'
)

select
    organisation_id,
    organisation_name,
    cast(wave as integer) as wave,
    measure_id,
    measure_label,
    '{{ var("gap_higher_group") }}' as higher_group_id,
    '{{ var("gap_lower_group") }}' as lower_group_id,
    cast(case when not higher_suppressed then round(100.0 * higher_k / higher_n, 1) end as double)
        as pct_higher,
    cast(case when not lower_suppressed then round(100.0 * lower_k / lower_n, 1) end as double)
        as pct_lower,
    cast(case when not (higher_suppressed or lower_suppressed)
        then round(
            100.0 * (cast(higher_k as double) / higher_n - cast(lower_k as double) / lower_n), 1)
    end as double) as gap_pp,
    cast(case when not (higher_suppressed or lower_suppressed)
        then {{ two_proportion_p_value('lower_k', 'lower_n', 'higher_k', 'higher_n') }}
    end as double) as p_value,
    case when not (higher_suppressed or lower_suppressed)
        then coalesce({{ two_proportion_p_value('lower_k', 'lower_n', 'higher_k', 'higher_n') }}
            < {{ var('significance_level') }}, false)
    end as significant,
    higher_suppressed or lower_suppressed as suppressed
from pairs
