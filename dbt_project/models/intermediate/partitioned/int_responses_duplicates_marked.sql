-- Every validated response, with the respondent's roll-up, marked for whether it counts.
-- Two rules (documented in the README):
--   1. a response re-exported in a later, overlapping file counts once: the copy from the newest
--      file is kept;
--   2. a repeat submission within var('repeat_submission_minutes') minutes of an identical one
--      counts once: the first submission is kept. Identical means
--      a. with a respondent reference: the same respondent, the same chosen answers;
--      b. without one (an anonymous form): the same service, group and flags, the same chosen
--         answers and the same non-blank free text (free_text_fingerprint). Identical ticks with
--         no text are as likely two people as one, so they are never called repeats.
-- Rule 2 looks only at the copies rule 1 keeps, so a response is never a repeat of its own copy.
with responses as (
    select * from {{ ref('stg_validated__responses') }} as responses
    {{- in_partitions_to_build('responses') }}
),

ranked_copies as (
    select
        *,
        row_number() over (
            partition by organisation_id, wave, response_key
            order by file_seen_at desc, file_sha256 asc
        ) as copy_rank
    from responses
),

kept_copies as (
    select
        *,
        case
            when respondent_key is not null then lag(submitted_at_utc) over (
                partition by organisation_id, wave, respondent_key, answers_fingerprint
                order by submitted_at_utc, response_key
            )
            -- respondent_key is null on every row of these windows: anonymous responses only
            when free_text_fingerprint is not null then lag(submitted_at_utc) over (
                partition by
                    organisation_id, wave, respondent_key, service_id, respondent_group,
                    completed_with_help, staff_lived_experience, answers_fingerprint,
                    free_text_fingerprint
                order by submitted_at_utc, response_key
            )
        end as previous_identical_at
    from ranked_copies
    where copy_rank = 1
),

-- Both branches carry copy_rank and previous_identical_at, so they line up column for column
-- (and an auditor sees which copy a row is and when its identical predecessor came).
classified as (
    select
        *,
        false as is_reexported_copy,
        coalesce(
            submitted_at_utc - previous_identical_at
            <= {{ coprod.minutes_interval(var('repeat_submission_minutes')) }},
            false
        ) as is_repeat_submission
    from kept_copies

    union all

    select
        *,
        cast(null as timestamp) as previous_identical_at,
        true as is_reexported_copy,
        false as is_repeat_submission
    from ranked_copies
    where copy_rank > 1
)

select
    classified.*,
    respondent_groups.rollup,
    not classified.is_reexported_copy and not classified.is_repeat_submission
        as counts_in_measures
from classified
inner join {{ ref('ref_respondent_groups') }} as respondent_groups
    on classified.respondent_group = respondent_groups.group_id
