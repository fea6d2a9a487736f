{#- The ingest output as the engine's own tables, from one folder of Parquet files per table
    (pipelines/portable_build.py exports them from the DuckDB warehouse): how a build on
    another engine gets the sources the pipeline's ingest wrote. Run as
    `dbt run-operation register_ingest_tables --args '{folder: ..., tables: [schema.table]}'`.
    DuckDB's builds read the warehouse the ingest wrote, so only Spark's form exists. -#}
{% macro register_ingest_tables(folder, tables) -%}
    {%- for table in tables -%}
        {%- do run_query('create schema if not exists ' ~ table.split('.')[0]) -%}
        {%- do adapter.dispatch('register_ingest_table', 'coprod')(folder ~ '/' ~ table, table) -%}
    {%- endfor -%}
{%- endmacro %}

{#- Spark: an unmanaged table over the files (dropping it leaves them). -#}
{% macro spark__register_ingest_table(location, table) -%}
    {%- do run_query('drop table if exists ' ~ table) -%}
    {%- do run_query('create table ' ~ table ~ ' using parquet location '
        ~ coprod.quoted_text(location)) -%}
{%- endmacro %}

{% macro default__register_ingest_table(location, table) -%}
    {%- if execute -%}
        {{ exceptions.raise_compiler_error("register_ingest_tables is for Spark: " ~ target.type
            ~ " builds read the warehouse the ingest wrote") }}
    {%- endif -%}
{%- endmacro %}
