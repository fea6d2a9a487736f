-- Published: every measure per organisation, wave and breakdown, with its Wilson 95% interval.
-- Grain: organisation_id, wave, breakdown, service_id, group_id, measure_id.
-- Withheld cells keep their row (so absence is never mistaken for zero) with n, k, pct and the
-- interval null and suppression_reason saying why.
with cells as (
    select * from {{ ref('int_measure_cells_labelled') }}
)

select
    organisation_id,
    organisation_name,
    organisation_type,
    cast(wave as integer) as wave,
    cast(wave_number as integer) as wave_number,
    is_baseline,
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
    question_versions,
    trend_group,
    {{ cell_figures('k', 'n', 'not suppressed') }},
    suppressed,
    suppression_reason
from cells
