-- Published: change in every measure since the baseline wave and since the previous wave.
-- Grain: organisation_id, wave, breakdown, service_id, group_id, measure_id, for every wave
-- after the baseline. Change is in percentage points (exact difference, rounded to one
-- decimal); significance is a two-sided pooled two-proportion z-test at
-- var('significance_level'). Nothing is computed when either cell is withheld, or when the two
-- waves asked versions of the question that ref_question_versions.csv does not declare
-- equivalent (different trend groups, or a cell mixing them): the note says which.
with cells as (
    select * from {{ ref('int_measure_cells_labelled') }}
),

paired as (
    select
        this_wave.*,
        baseline.n as base_n,
        baseline.k as base_k,
        baseline.suppressed as base_suppressed,
        baseline.trend_group as base_trend_group,
        previous.n as prev_n,
        previous.k as prev_k,
        previous.suppressed as prev_suppressed,
        previous.trend_group as prev_trend_group
    from cells as this_wave
    left join cells as baseline
        on {{ same_cell('this_wave', 'baseline') }}
        and this_wave.baseline_wave = baseline.wave
    left join cells as previous
        on {{ same_cell('this_wave', 'previous') }}
        and this_wave.previous_wave = previous.wave
    where not this_wave.is_baseline
),

-- Comparable: both waves have the cell and asked equivalent wordings (a null trend group, a
-- cell mixing wordings, is comparable with nothing).
comparability as (
    select
        *,
        base_n is not null and coalesce(trend_group = base_trend_group, false)
            as comparable_with_baseline,
        prev_n is not null and coalesce(trend_group = prev_trend_group, false)
            as comparable_with_previous
    from paired
),

judged as (
    select
        *,
        comparable_with_baseline and not suppressed and not base_suppressed
            as can_compare_baseline,
        comparable_with_previous and not suppressed and not prev_suppressed
            as can_compare_previous
    from comparability
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
    denominator,
    option_code,
    {{ cell_figures('k', 'n', 'not suppressed') }},
    {{ change_columns('baseline', 'base') }},
    {{ change_columns('previous', 'prev') }},
    case
        when suppressed then {{ coprod.quoted_text("withheld: this wave's cell is suppressed") }}
        when base_n is null then 'no baseline cell to compare with'
        when not comparable_with_baseline
            then 'not comparable with baseline: question wording changed ('
                || coalesce(base_trend_group, 'mixed wordings') || ' then '
                || coalesce(trend_group, 'mixed wordings') || ')'
        when base_suppressed then 'withheld: the baseline cell is suppressed'
        when prev_n is not null and not comparable_with_previous
            then 'not comparable with previous wave: question wording changed ('
                || coalesce(prev_trend_group, 'mixed wordings') || ' then '
                || coalesce(trend_group, 'mixed wordings') || ')'
        when prev_suppressed
            then {{ coprod.quoted_text("withheld: the previous wave's cell is suppressed") }}
    end as note
from judged
