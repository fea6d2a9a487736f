{{ config(meta={'dagster': {'ref': {'name': 'mart_measure_changes'}}}) }}
-- Suppression is consistent across waves: a change is never published next to a withheld cell,
-- because the change and the other wave's value would give the withheld value away.
select changes.*
from {{ ref('mart_measure_changes') }} as changes
inner join {{ ref('mart_measures') }} as now
    on changes.organisation_id = now.organisation_id and changes.wave = now.wave
    and changes.breakdown = now.breakdown and changes.service_id = now.service_id
    and changes.group_id = now.group_id and changes.measure_id = now.measure_id
left join {{ ref('mart_measures') }} as base
    on changes.organisation_id = base.organisation_id and changes.baseline_wave = base.wave
    and changes.breakdown = base.breakdown and changes.service_id = base.service_id
    and changes.group_id = base.group_id and changes.measure_id = base.measure_id
where changes.change_pp_from_baseline is not null and (now.suppressed or base.suppressed)
