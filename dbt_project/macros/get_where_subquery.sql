{#- Tests of rows that a run may leave as they were check only the rows the running build
    recomputes, by naming one of two words as their `where`:
      partitions_in_build  rows of the (organisation, wave) partitions being rebuilt
                           (validated.partitions_in_build, see pipelines/file_state.py)
      files_in_build       rows of the current files of those partitions (for rows that carry a
                           file_sha256 but no organisation or wave, such as answers)
    The other rows were checked when their partitions were built and have not changed since. A
    full refresh lists every partition, in batches when there are many. Any other `where` works
    as dbt's own. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where == 'partitions_in_build' -%}
        {%- set filtered -%}
            (select * from {{ relation }} as tested
             where exists (
                select 1 from validated.partitions_in_build as partitions_in_build
                where partitions_in_build.organisation_id = tested.organisation_id
                    and partitions_in_build.wave = tested.wave)) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- elif where == 'files_in_build' -%}
        {%- set filtered -%}
            (select * from {{ relation }} as tested
             where tested.file_sha256 in (
                select current_files.file_sha256
                from ingest.current_files as current_files
                inner join validated.partitions_in_build as partitions_in_build
                    on current_files.organisation_id = partitions_in_build.organisation_id
                    and current_files.wave = partitions_in_build.wave)) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(dbt.default__get_where_subquery(relation)) -%}
    {%- endif -%}
{%- endmacro %}
