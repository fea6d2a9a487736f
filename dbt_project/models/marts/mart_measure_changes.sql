-- Published: change in every measure since the baseline wave and since the previous wave.
-- Grain: organisation_id, wave, breakdown, service_id, group_id, measure_id, for every wave
-- after the baseline. Change is in percentage points (exact difference, rounded to one
-- decimal); significance is a two-sided pooled two-proportion z-test at
-- var('significance_level'). Nothing is computed when either cell is withheld, or when the two
-- waves asked versions of the question that ref_question_versions.csv does not declare
-- equivalent (different trend groups): the note says which.
with cells as (
    select * from {{ ref('int_measure_cells_labelled') }}
),

paired as (
    select
        now.*,
        base.n as base_n, base.k as base_k, base.suppressed as base_suppressed,
        base.trend_group as base_trend_group,
        prev.n as prev_n, prev.k as prev_k, prev.suppressed as prev_suppressed,
        prev.trend_group as prev_trend_group
    from cells as now
    left join cells as base
        on now.organisation_id = base.organisation_id
        and now.breakdown = base.breakdown
        and now.service_id = base.service_id
        and now.group_id = base.group_id
        and now.measure_id = base.measure_id
        and base.wave = now.baseline_wave
    left join cells as prev
        on now.organisation_id = prev.organisation_id
        and now.breakdown = prev.breakdown
        and now.service_id = prev.service_id
        and now.group_id = prev.group_id
        and now.measure_id = prev.measure_id
        and prev.wave = now.previous_wave
    where not now.is_baseline
),

judged as (
    select
        *,
        base_n is not null and not suppressed and not base_suppressed
            and trend_group = base_trend_group and trend_group not like 'mixed:%'
            as can_compare_baseline,
        prev_n is not null and not suppressed and not prev_suppressed
            and trend_group = prev_trend_group and trend_group not like 'mixed:%'
            as can_compare_previous,
        base_n is not null and trend_group = base_trend_group and trend_group not like 'mixed:%'
            as comparable_with_baseline,
        prev_n is not null and trend_group = prev_trend_group and trend_group not like 'mixed:%'
            as comparable_with_previous
    from paired
)

select
    organisation_id,
    organisation_name,
    organisation_type,
    cast(wave as integer) as wave,
    cast(baseline_wave as integer) as baseline_wave,
    cast(previous_wave as integer) as previous_wave,
    breakdown,
    service_id,
    service_name,
    group_id,
    group_label,
    measure_id,
    measure_label,
    measure_family,
    question_id,
    cast(case when not suppressed then round(100.0 * k / n, 1) end as double) as pct,
    {{ change_columns('baseline', 'base') }},
    {{ change_columns('previous', 'prev') }},
    case
        when suppressed then {{ coprod.quoted_text("withheld: this wave's cell is suppressed") }}
        when base_n is null then 'no baseline cell to compare with'
        when not comparable_with_baseline
            then 'not comparable with baseline: question wording changed ('
                || base_trend_group || ' then ' || trend_group || ')'
        when base_suppressed then 'withheld: the baseline cell is suppressed'
        when prev_n is not null and not comparable_with_previous
            then 'not comparable with previous wave: question wording changed ('
                || prev_trend_group || ' then ' || trend_group || ')'
        when prev_suppressed then {{ coprod.quoted_text("withheld: the previous wave's cell is suppressed") }}
    end as note
from judged
