select
    organisation_id,
    service_id,
    service_name
from {{ source('registry', 'services') }}
