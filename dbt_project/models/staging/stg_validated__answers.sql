select
    response_key,
    file_sha256,
    organisation_id,
    wave,
    question_id,
    question_version,
    option_code,
    coded_by
from {{ source('validated', 'answers') }}
