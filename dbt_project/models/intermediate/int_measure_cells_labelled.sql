-- Suppressed cells with everything a reader needs beside the numbers: names, labels, wave
-- position. Still holds the withheld counts, so it stays in the warehouse; marts withhold them.
-- Measures only: the respondent counts are mart_respondents'.
with cells as (
    select * from {{ ref('int_measure_cells_suppressed') }}
    where measure_id <> {{ coprod.respondents_measure_id() }}
),

group_labels as (
    select * from {{ ref('int_group_labels') }}
)

select
    cells.cell_id,
    cells.organisation_id,
    organisations.organisation_name,
    organisations.organisation_type,
    cells.wave,
    waves.wave_number,
    waves.is_baseline,
    waves.baseline_wave,
    waves.previous_wave,
    cells.breakdown,
    cells.service_id,
    coalesce(services.service_name, 'All services') as service_name,
    cells.group_id,
    group_labels.group_label,
    cells.measure_id,
    measures.measure_label,
    measures.measure_family,
    measures.question_id,
    measures.denominator,
    measures.option_code,
    {{ coprod.split_to_array('cells.question_versions', ',') }} as question_versions,
    cells.trend_group,
    cells.n,
    cells.k,
    cells.suppressed,
    cells.suppression_reason
from cells
inner join {{ ref('stg_registry__organisations') }} as organisations
    on cells.organisation_id = organisations.organisation_id
inner join {{ ref('int_waves') }} as waves
    on cells.organisation_id = waves.organisation_id and cells.wave = waves.wave
inner join {{ ref('int_measures') }} as measures on cells.measure_id = measures.measure_id
inner join group_labels on cells.group_id = group_labels.group_id
left join {{ ref('stg_registry__services') }} as services
    on cells.organisation_id = services.organisation_id and cells.service_id = services.service_id
