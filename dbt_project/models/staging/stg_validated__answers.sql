select
    response_key,
    file_sha256,
    question_id,
    question_version,
    option_code,
    coded_by
from {{ source('validated', 'answers') }}
