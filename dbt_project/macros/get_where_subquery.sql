{#- Tests whose `where` is the word partitions_in_build check only the rows of the (organisation,
    wave) partitions the running build recomputes (validated.partitions_in_build, see
    pipelines/file_state.py); the other rows were checked when their partitions were built and
    have not changed since. A full refresh lists every partition, in batches when there are
    many. Any other `where` works as dbt's own. -#}
{% macro get_where_subquery(relation) -%}
    {%- if config.get('where') == 'partitions_in_build' -%}
        {%- set filtered -%}
            (select * from {{ relation }} as tested
             where {{ in_partitions_in_build('tested') }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(dbt.default__get_where_subquery(relation)) -%}
    {%- endif -%}
{%- endmacro %}
