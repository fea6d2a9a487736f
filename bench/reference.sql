-- The practical limit: one DuckDB statement computing the same cells as the pipeline (n valid
-- answers and k positive ones per organisation x service x respondent group x wave x measure)
-- straight from the national workload's Qualtrics files. No validation, no privacy, no
-- de-duplication, no suppression: what the pipeline costs beyond this is the price of those.
-- {inbox} is replaced by the folder of the workload's files.
with raw as (
    select *
    from read_csv('{inbox}/*.csv', header = true, all_varchar = true, filename = true)
    where Status = 'IP Address' and Finished = 'True'  -- drops the two extra header rows too
),

responses as (
    select
        regexp_extract(filename, '(org_\d+)_(\d{4})_', 1) as organisation_id,
        regexp_extract(filename, '(org_\d+)_(\d{4})_', 2)::integer as wave,
        lower(replace(Q_SERVICE, ' ', '_')) as service_id,
        groups.group_id,
        groups.rollup,
        QID1, QID3, QID4, QID5, QID6, QID7, QID8, QID9, QID10
    from raw
    inner join (values
        ('Senior leader or manager', 'senior_manager', 'workforce'),
        ('Frontline care or support worker', 'frontline', 'workforce'),
        ('Clinical or professional practitioner', 'practitioner', 'workforce'),
        ('Support functions', 'support_function', 'workforce'),
        ('Peer or lived-experience worker', 'peer_worker', 'workforce'),
        ('Volunteer', 'volunteer', 'workforce'),
        ('Trustee', 'trustee', 'workforce'),
        ('Person who draws on care and support', 'person_drawing_on_care', 'lived_experience'),
        ('Unpaid carer or family member', 'carer', 'lived_experience')
    ) as groups (label, group_id, rollup) on raw.Q_ROLE = groups.label
),

outcomes as (
    select organisation_id, wave, service_id, group_id, measure_id, is_positive
    from responses,
    lateral (values
        ('aware', QID1 in ('Yes', 'No', 'Not sure'), QID1 = 'Yes', true),
        ('opp_own_care', QID3 in ('Yes', 'No', 'Not sure'), QID3 = 'Yes',
            rollup = 'lived_experience'),
        ('opp_services', QID4 in ('Yes', 'No', 'Not sure'), QID4 = 'Yes',
            rollup = 'lived_experience'),
        ('staff_worked_alongside', QID5 in ('Yes', 'No'), QID5 = 'Yes', rollup = 'workforce'),
        ('barrier_time', QID6 <> '', 'Time' in string_split(QID6, ','), rollup = 'workforce'),
        ('barrier_cost', QID6 <> '', 'Cost' in string_split(QID6, ','), rollup = 'workforce'),
        ('vital', QID7 is not null, QID7 = 'Vital', true),
        ('ladder_codesign_plus', QID8 is not null, QID8 in ('Co-design', 'Co-production'), true),
        ('have_a_say', QID9 is not null and QID9 <> 'Don''t know',
            QID9 in ('Strongly agree', 'Agree'), rollup = 'lived_experience'),
        ('valued_equally', QID10 is not null and QID10 <> 'Don''t know',
            QID10 in ('Strongly agree', 'Agree'), true)
    ) as m (measure_id, is_valid, is_positive, applies)
    where is_valid and applies
)

select
    organisation_id, wave, service_id, group_id, measure_id,
    count(*) as n,
    count(*) filter (where is_positive) as k
from outcomes
group by all
