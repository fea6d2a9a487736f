-- Published: the number of respondents in every cell, the first column of each table a
-- co-production lead prints ("residents of this home: 24 respondents, then their answers").
-- Grain: organisation_id, wave, breakdown, service_id, group_id: the cells of mart_measures
-- without the measure, joined to it on those five columns.
-- A respondent is a counted response (after de-duplication), whatever it answered. The count is
-- withheld as any count is (int_measure_cells_suppressed): below var('min_cell_size'), and
-- where it would let a withheld count be worked out from a total; the row stays, with
-- n_respondents null and suppression_reason saying why.
with cells as (
    select * from {{ ref('int_measure_cells_suppressed') }}
    where measure_id = {{ coprod.respondents_measure_id() }}
),

labelled as (
    select
        cells.organisation_id,
        organisations.organisation_name,
        organisations.organisation_type,
        waves.is_baseline,
        cells.breakdown,
        cells.service_id,
        cells.group_id,
        group_labels.group_label,
        cells.suppressed,
        cells.suppression_reason,
        cast(cells.wave as integer) as wave,
        cast(waves.wave_number as integer) as wave_number,
        cast(case when not cells.suppressed then cells.n end as integer) as n_respondents,
        coalesce(services.service_name, 'All services') as service_name
    from cells
    inner join {{ ref('stg_registry__organisations') }} as organisations
        on cells.organisation_id = organisations.organisation_id
    inner join {{ ref('int_waves') }} as waves
        on cells.organisation_id = waves.organisation_id and cells.wave = waves.wave
    inner join {{ ref('int_group_labels') }} as group_labels
        on cells.group_id = group_labels.group_id
    left join {{ ref('stg_registry__services') }} as services
        on cells.organisation_id = services.organisation_id
        and cells.service_id = services.service_id
)

-- In the order of mart_measures' columns, n_respondents where its figures are.
select
    organisation_id,
    organisation_name,
    organisation_type,
    wave,
    wave_number,
    is_baseline,
    breakdown,
    service_id,
    service_name,
    group_id,
    group_label,
    n_respondents,
    suppressed,
    suppression_reason
from labelled
