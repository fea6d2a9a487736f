select
    organisation_id,
    organisation_name,
    organisation_type,
    baseline_wave
from {{ source('registry', 'organisations') }}
