select
    response_key,
    respondent_key,
    file_sha256,
    file_name,
    file_seen_at,
    row_number as source_row_number,
    organisation_id,
    service_id,
    respondent_group,
    wave,
    instrument_id,
    tool,
    submitted_at_utc,
    source_timezone,
    completed_with_help,
    staff_lived_experience,
    answers_fingerprint
from {{ source('validated', 'responses') }}
