-- The label of every group a cell can be for: everyone, the two roll-ups, each role. Shared by
-- the measure cells and the respondent counts so both print the same words.
select 'all' as group_id, 'All respondents' as group_label
union all
select 'workforce' as group_id, 'Workforce (all staff roles)' as group_label
union all
select
    'lived_experience' as group_id,
    'Lived experience (people who draw on care and carers)' as group_label
union all
select group_id, label as group_label from {{ ref('ref_respondent_groups') }}
