select
    organisation_id,
    wave,
    response_key,
    question_id,
    option_code,
    sheet_sha256
from {{ source('validated', 'analyst_codes') }}
