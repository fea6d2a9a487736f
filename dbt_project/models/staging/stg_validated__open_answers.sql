select
    response_key,
    file_sha256,
    organisation_id,
    wave,
    question_id,
    question_version,
    part,
    text_redacted
from {{ source('validated', 'open_answers') }}
