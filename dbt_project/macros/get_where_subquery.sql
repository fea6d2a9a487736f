{#- Tests whose `where` is the word partitions_to_build check only the rows of the (organisation,
    wave) partitions this run rebuilds (validated.partitions_to_build, see
    pipelines/file_state.py); the others were checked when they were built and have not changed
    since. A full refresh lists every partition. Any other `where` works as dbt's own. -#}
{% macro get_where_subquery(relation) -%}
    {%- if config.get('where') == 'partitions_to_build' -%}
        {%- set filtered -%}
            (select * from {{ relation }} as tested
             where exists (
                select 1 from validated.partitions_to_build as partitions_to_build
                where partitions_to_build.organisation_id = tested.organisation_id
                    and partitions_to_build.wave = tested.wave)) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(dbt.default__get_where_subquery(relation)) -%}
    {%- endif -%}
{%- endmacro %}
