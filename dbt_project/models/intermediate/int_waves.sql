-- One row per organisation and survey wave. The baseline is the organisation's first wave unless
-- data/sources.yml declares baseline_wave.
with waves as (
    select distinct organisation_id, wave
    from {{ ref('int_responses_duplicates_marked') }}
    where counts_in_measures
),

organisations as (
    select * from {{ ref('stg_registry__organisations') }}
),

numbered as (
    select
        waves.organisation_id,
        waves.wave,
        dense_rank() over (partition by waves.organisation_id order by waves.wave) as wave_number,
        coalesce(
            organisations.baseline_wave,
            min(waves.wave) over (partition by waves.organisation_id)
        ) as baseline_wave,
        lag(waves.wave) over (partition by waves.organisation_id order by waves.wave)
            as previous_wave
    from waves
    inner join organisations on waves.organisation_id = organisations.organisation_id
)

select
    *,
    wave = baseline_wave as is_baseline
from numbered
