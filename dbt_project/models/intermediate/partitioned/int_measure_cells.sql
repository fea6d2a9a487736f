-- n (the measure's denominator) and k (positive answers) per cell, before any suppression; and
-- each cell's respondents (below, under the measure id respondents_measure_id()). A cell is one
-- organisation, wave and measure at one breakdown of ref_breakdowns: service_id is 'all' or
-- one service, group_id 'all', a roll-up (workforce, lived_experience) or one role, as the
-- breakdown's service_level and group_level say.
--
-- Each counted response contributes one outcome per measure whose denominator it is in: is the
-- answer in the measure's numerator? A measure applies to everyone ('all') or to one roll-up;
-- respondents outside it are never in its denominator. Within it, the measure's denominator
-- (int_measures) says who counts:
--   valid        responses with a valid answer (multi-select: any valid option chosen);
--   answered     responses with any answer, "Don't know" or "Prefer not to say" included;
--   respondents  every counted response whose questionnaire (instrument) asked the question,
--                blanks included.
-- Positive when any chosen option is in the numerator; a blank is positive only for a
-- distribution's no_answer measure.
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

coded_answers as (
    select codes.*, questions.answer_type
    from codes
    inner join questions on codes.question_id = questions.question_id
),

-- One row per counted response and question it answered, valid or not (has_valid_option).
answered_questions as (
    select
        organisation_id, wave, service_id, respondent_group, rollup, response_key, file_sha256,
        question_id, trend_group, question_version, {{ coprod.array_of('option_code') }} as chosen,
        is_valid as has_valid_option, coded_by
    from coded_answers
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
        max(case when is_valid then 1 else 0 end) = 1 as has_valid_option,
        max(coded_by) as coded_by
    from coded_answers
    where answer_type <> 'single'
    group by organisation_id, wave, file_sha256, response_key, question_id
),

-- One outcome per counted response and measure it answered, counted at once rather than
-- stored: at ten million responses that table would hold over a hundred million rows. A
-- measure over valid answers counts only an answer with a valid option (its numerator holds
-- valid options only: tests/assert_measures_are_well_formed.sql), so chosen may hold the
-- others.
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
        and (answered_questions.has_valid_option or measures.denominator <> 'valid')
),

-- Counted first at the finest grain (service x role), so the breakdowns below add up a few
-- thousand rows per partition rather than re-reading every response five times.
answered_cells as (
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

-- Denominator respondents: the respondents who were asked the question and left it blank,
-- counted from cells, not responses (no response is joined to a measure): per finest cell,
-- the respondents whose instrument has a column for the question (in the version it asks),
-- less those who answered it. Only measures declaring this denominator are looked at.
respondent_measures as (
    select measure_id, question_id, applies_to, counts_no_answer
    from measures
    where denominator = 'respondents'
),

asked_versions as (
    select distinct
        crosswalk.instrument_id, crosswalk.question_id, crosswalk.question_version,
        versions.trend_group
    from {{ ref('ref_instrument_columns') }} as crosswalk
    inner join {{ ref('ref_question_versions') }} as versions
        on crosswalk.question_id = versions.question_id
        and crosswalk.question_version = versions.question_version
    where crosswalk.column_role = 'answer'
),

instrument_respondents as (
    select
        organisation_id, wave, service_id, respondent_group, rollup, instrument_id,
        count(*) as respondents
    from responses
    where counts_in_measures
    group by organisation_id, wave, service_id, respondent_group, rollup, instrument_id
),

asked_cells as (
    select
        instrument_respondents.organisation_id,
        instrument_respondents.wave,
        respondent_measures.measure_id,
        instrument_respondents.service_id,
        instrument_respondents.respondent_group,
        instrument_respondents.rollup,
        asked_versions.trend_group,
        asked_versions.question_version,
        respondent_measures.counts_no_answer,
        sum(instrument_respondents.respondents) as asked
    from instrument_respondents
    inner join asked_versions
        on instrument_respondents.instrument_id = asked_versions.instrument_id
    inner join respondent_measures
        on asked_versions.question_id = respondent_measures.question_id
        and (
            respondent_measures.applies_to = 'all'
            or instrument_respondents.rollup = respondent_measures.applies_to
        )
    group by
        instrument_respondents.organisation_id, instrument_respondents.wave,
        respondent_measures.measure_id, instrument_respondents.service_id,
        instrument_respondents.respondent_group, instrument_respondents.rollup,
        asked_versions.trend_group, asked_versions.question_version,
        respondent_measures.counts_no_answer
),

blank_cells as (
    select
        asked_cells.organisation_id,
        asked_cells.wave,
        asked_cells.measure_id,
        asked_cells.service_id,
        asked_cells.respondent_group,
        asked_cells.rollup,
        asked_cells.trend_group,
        asked_cells.question_version,
        0 as n_coded_by_analyst,
        0 as n_coded_by_codebook,
        asked_cells.asked - coalesce(answered_cells.n, 0) as n,
        case
            when asked_cells.counts_no_answer then asked_cells.asked - coalesce(answered_cells.n, 0)
            else 0
        end as k
    from asked_cells
    left join answered_cells
        on asked_cells.organisation_id = answered_cells.organisation_id
        and asked_cells.wave = answered_cells.wave
        and asked_cells.measure_id = answered_cells.measure_id
        and asked_cells.service_id = answered_cells.service_id
        and asked_cells.respondent_group = answered_cells.respondent_group
        and asked_cells.question_version = answered_cells.question_version
    where asked_cells.asked > coalesce(answered_cells.n, 0)
),

-- Every count at the finest grain: the answers, the blanks of measures over respondents, and
-- each cell's respondents (counted responses, whatever they answered) as a cell of the reserved
-- measure respondents_measure_id(): n respondents, no k. Being a cell like any other, it is
-- broken down, and withheld, by the same rules (mart_respondents publishes it; the measure
-- marts never see it, int_measure_cells_labelled keeping measures only).
finest as (
    select
        organisation_id, wave, measure_id, service_id, respondent_group, rollup, trend_group,
        question_version, n, k, n_coded_by_analyst, n_coded_by_codebook
    from answered_cells
    union all
    select
        organisation_id, wave, measure_id, service_id, respondent_group, rollup, trend_group,
        question_version, n, k, n_coded_by_analyst, n_coded_by_codebook
    from blank_cells
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

breakdowns as (
    select breakdown, service_level, group_level from {{ ref('ref_breakdowns') }}
),

-- Each finest count once per declared breakdown, under that breakdown's service and group: the
-- sums below then add up every cell of every breakdown in one pass.
expanded as (
    select
        finest.organisation_id,
        finest.wave,
        finest.measure_id,
        breakdowns.breakdown,
        finest.n,
        finest.k,
        finest.n_coded_by_analyst,
        finest.n_coded_by_codebook,
        finest.trend_group,
        finest.question_version,
        case
            when breakdowns.service_level = 'service' then finest.service_id else 'all'
        end as service_id,
        case breakdowns.group_level
            when 'rollup' then finest.rollup
            when 'group' then finest.respondent_group
            else 'all'
        end as group_id
    from finest
    cross join breakdowns
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
