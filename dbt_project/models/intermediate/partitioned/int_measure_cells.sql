-- n (valid answers) and k (positive answers) per cell, before any suppression; and each cell's
-- respondents (below, under the measure id respondents_measure_id()). A cell is one
-- organisation, wave and measure at one breakdown:
--   organisation         all respondents the measure applies to   service_id 'all', group_id 'all'
--   organisation_rollup  workforce or lived_experience             service_id 'all'
--   organisation_group   one respondent group (role)               service_id 'all'
--   service              one service                               group_id 'all'
--   service_rollup       one service and roll-up
--
-- Each counted response contributes one outcome per measure it validly answered: is the answer
-- in the measure's numerator? A measure applies to everyone ('all') or to one roll-up; respondents
-- outside it are not in its denominator. Multi-select: valid when any valid option was chosen,
-- positive when any chosen option is in the numerator.
-- The chosen options are gathered per response and question first (only multi-select
-- questions have several), so the measures are joined to one row per answered question.
with codes as (
    select * from {{ ref('int_answer_codes') }} as codes
    {{- in_partitions_to_build('codes') }}
),

responses as (
    select * from {{ ref('int_responses_duplicates_marked') }} as responses
    {{- in_partitions_to_build('responses') }}
),

questions as (
    select question_id, answer_type from {{ ref('ref_questions') }}
),

measures as (
    select * from {{ ref('int_measures') }}
),

valid_codes as (
    select codes.*, questions.answer_type
    from codes
    inner join questions on codes.question_id = questions.question_id
    where codes.is_valid
),

answered_questions as (
    select
        organisation_id, wave, service_id, respondent_group, rollup, response_key, file_sha256,
        question_id, trend_group, question_version, {{ coprod.array_of('option_code') }} as chosen,
        coded_by
    from valid_codes
    where answer_type = 'single'
    union all
    -- service, group and roll-up are the response's, the same on every row: min() picks it
    -- (any_value would too, but DuckDB's skips nulls and Spark's need not)
    select
        organisation_id,
        wave,
        min(service_id) as service_id,
        min(respondent_group) as respondent_group,
        min(rollup) as rollup,
        response_key,
        file_sha256,
        question_id,
        min(trend_group) as trend_group,
        min(question_version) as question_version,
        {{ coprod.array_agg_of('option_code') }} as chosen,
        max(coded_by) as coded_by
    from valid_codes
    where answer_type <> 'single'
    group by organisation_id, wave, file_sha256, response_key, question_id
),

-- One outcome per counted response and measure it validly answered, counted at once rather
-- than stored: at ten million responses that table would hold over a hundred million rows.
outcomes as (
    select
        answered_questions.organisation_id,
        answered_questions.wave,
        answered_questions.service_id,
        answered_questions.respondent_group,
        answered_questions.rollup,
        measures.measure_id,
        answered_questions.trend_group,
        answered_questions.question_version,
        {{ coprod.arrays_overlap(
            'answered_questions.chosen', coprod.split_to_array('measures.numerator_codes', '|')
        ) }} as is_positive,
        answered_questions.coded_by
    from answered_questions
    inner join measures
        on answered_questions.question_id = measures.question_id
        and (measures.applies_to = 'all' or answered_questions.rollup = measures.applies_to)
),

-- Counted first at the finest grain (service x role), so the breakdowns below add up a few
-- thousand rows per partition rather than re-reading every response five times.
finest_measures as (
    select
        organisation_id, wave, measure_id, service_id, respondent_group, rollup, trend_group,
        question_version,
        count(*) as n,
        count(*) filter (where is_positive) as k,
        count(*) filter (where coded_by = 'analyst') as n_coded_by_analyst,
        count(*) filter (where coded_by = 'codebook') as n_coded_by_codebook
    from outcomes
    group by all
),

-- Each cell's respondents (counted responses, whatever they answered) as a cell of the reserved
-- measure respondents_measure_id(): n respondents, no k. Being a cell like any other, it is
-- broken down, and withheld, by the same rules (mart_respondents publishes it; the measure
-- marts never see it, int_measure_cells_labelled keeping measures only).
finest as (
    select
        organisation_id, wave, measure_id, service_id, respondent_group, rollup, trend_group,
        question_version, n, k, n_coded_by_analyst, n_coded_by_codebook
    from finest_measures
    union all
    select
        organisation_id,
        wave,
        {{ coprod.respondents_measure_id() }} as measure_id,
        service_id,
        respondent_group,
        rollup,
        cast(null as string) as trend_group,
        cast(null as integer) as question_version,
        count(*) as n,
        cast(null as bigint) as k,
        0 as n_coded_by_analyst,
        0 as n_coded_by_codebook
    from responses
    where counts_in_measures
    group by organisation_id, wave, service_id, respondent_group, rollup
),

expanded as (
    select organisation_id, wave, measure_id, 'organisation' as breakdown, 'all' as service_id,
        'all' as group_id, n, k, n_coded_by_analyst, n_coded_by_codebook, trend_group,
        question_version
    from finest
    union all
    select organisation_id, wave, measure_id, 'organisation_rollup' as breakdown,
        'all' as service_id, rollup as group_id, n, k, n_coded_by_analyst, n_coded_by_codebook,
        trend_group, question_version
    from finest
    union all
    select organisation_id, wave, measure_id, 'organisation_group' as breakdown,
        'all' as service_id, respondent_group as group_id, n, k, n_coded_by_analyst,
        n_coded_by_codebook, trend_group, question_version
    from finest
    union all
    select organisation_id, wave, measure_id, 'service' as breakdown, service_id,
        'all' as group_id, n, k, n_coded_by_analyst, n_coded_by_codebook, trend_group,
        question_version
    from finest
    union all
    select organisation_id, wave, measure_id, 'service_rollup' as breakdown, service_id,
        rollup as group_id, n, k, n_coded_by_analyst, n_coded_by_codebook, trend_group,
        question_version
    from finest
),

-- Summed per cell and question version first, so the cell's versions below are distinct
-- without a distinct aggregate (which DuckDB computes as separate aggregations joined back: a
-- third of this model's time).
cell_versions as (
    select
        organisation_id,
        wave,
        measure_id,
        breakdown,
        service_id,
        group_id,
        question_version,
        sum(n) as n,
        sum(k) as k,
        sum(n_coded_by_analyst) as n_coded_by_analyst,
        sum(n_coded_by_codebook) as n_coded_by_codebook,
        min(trend_group) as first_trend_group,
        max(trend_group) as last_trend_group
    from expanded
    group by organisation_id, wave, measure_id, breakdown, service_id, group_id, question_version
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
    -- Of n, the open answers coded by an analyst and by the codebook (0 for closed questions).
    cast(sum(n_coded_by_analyst) as bigint) as n_coded_by_analyst,
    cast(sum(n_coded_by_codebook) as bigint) as n_coded_by_codebook,
    -- Versions whose wording differs are in different trend groups; a cell mixing them has
    -- none (null), so no change is computed against it. (One trend group: the first is the
    -- last.)
    case
        when min(first_trend_group) = max(last_trend_group) then min(first_trend_group)
    end as trend_group,
    {{ coprod.string_agg_sorted('cast(question_version as string)', ',') }}
        as question_versions,
    -- When this partition was last recomputed: only partitions whose files changed are.
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp) as computed_at
from cell_versions
group by organisation_id, wave, measure_id, breakdown, service_id, group_id
