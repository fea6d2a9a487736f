select
    file_sha256,
    row_number as source_row_number,
    response_key,
    stage,
    source_column,
    value_redacted,
    reason
from {{ source('validated', 'rejected_rows') }}
