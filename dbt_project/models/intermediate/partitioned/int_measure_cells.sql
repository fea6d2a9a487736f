-- n (valid answers) and k (positive answers) per cell, before any suppression. A cell is one
-- organisation, wave and measure at one breakdown:
--   organisation         all respondents the measure applies to   service_id 'ALL', group_id 'all'
--   organisation_rollup  workforce or lived_experience             service_id 'ALL'
--   organisation_group   one respondent group (role)               service_id 'ALL'
--   service              one service                               group_id 'all'
--   service_rollup       one service and roll-up
with outcomes as (
    select * from {{ ref('int_response_measure_outcomes') }} as outcomes
    {{- in_partitions_to_build('outcomes') }}
),

-- Counted first at the finest grain (service x role), so the breakdowns below add up a few
-- thousand rows per partition rather than re-reading every response five times.
finest as (
    select
        organisation_id, wave, measure_id, service_id, respondent_group, rollup, trend_group,
        question_version,
        count(*) as n,
        count(*) filter (where is_positive) as k
    from outcomes
    group by all
),

expanded as (
    select organisation_id, wave, measure_id, 'organisation' as breakdown, 'ALL' as service_id,
        'all' as group_id, n, k, trend_group, question_version
    from finest
    union all
    select organisation_id, wave, measure_id, 'organisation_rollup', 'ALL', rollup,
        n, k, trend_group, question_version
    from finest
    union all
    select organisation_id, wave, measure_id, 'organisation_group', 'ALL', respondent_group,
        n, k, trend_group, question_version
    from finest
    union all
    select organisation_id, wave, measure_id, 'service', service_id, 'all',
        n, k, trend_group, question_version
    from finest
    union all
    select organisation_id, wave, measure_id, 'service_rollup', service_id, rollup,
        n, k, trend_group, question_version
    from finest
)

select
    concat_ws('|', organisation_id, wave, measure_id, breakdown, service_id, group_id) as cell_id,
    organisation_id,
    wave,
    measure_id,
    breakdown,
    service_id,
    group_id,
    cast(sum(n) as bigint) as n,
    cast(sum(k) as bigint) as k,
    -- Versions whose wording differs are in different trend groups; a cell mixing them is
    -- marked so that no change is computed against it.
    case
        when count(distinct trend_group) = 1 then min(trend_group)
        else 'mixed:' || string_agg(distinct trend_group, '+' order by trend_group)
    end as trend_group,
    string_agg(distinct question_version::varchar, ',' order by question_version::varchar)
        as question_versions,
    -- When this partition was last recomputed: only partitions whose files changed are.
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp) as computed_at
from expanded
group by all
