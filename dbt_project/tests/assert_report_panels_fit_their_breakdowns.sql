-- The report draws measure_rows for organisation-wide breakdowns (a row under each measure) and
-- service_columns for breakdowns by service (a column per service): any other pairing in
-- ref_breakdowns.csv would have nowhere to go on the page.
select breakdown, service_level, report_panel
from {{ ref('ref_breakdowns') }}
where (report_panel = 'measure_rows' and service_level <> 'organisation')
    or (report_panel = 'service_columns' and service_level <> 'service')
