{#- The ingest output as the engine's own tables, from one folder of Parquet files per table
    (pipelines/portable_build.py exports them from the DuckDB warehouse): how a build on
    another engine gets the sources the pipeline's ingest wrote. Run as
    `dbt run-operation register_ingest_tables --args '{folder: ..., tables: [schema.table]}'`. -#}
{% macro register_ingest_tables(folder, tables) -%}
    {%- for table in tables -%}
        {%- do run_query('create schema if not exists ' ~ table.split('.')[0]) -%}
        {%- do adapter.dispatch('register_ingest_table', 'coprod')(folder ~ '/' ~ table, table) -%}
    {%- endfor -%}
{%- endmacro %}

{#- DuckDB: a view reading the files, so a copy of the ingest output builds as the warehouse
    would. -#}
{% macro duckdb__register_ingest_table(location, table) -%}
    {%- do run_query('create or replace view ' ~ table ~ ' as select * from read_parquet('
        ~ coprod.quoted_text(location ~ '/*.parquet') ~ ')') -%}
{%- endmacro %}

{#- Spark: an unmanaged table over the files (dropping it leaves them). -#}
{% macro spark__register_ingest_table(location, table) -%}
    {%- do run_query('drop table if exists ' ~ table) -%}
    {%- do run_query('create table ' ~ table ~ ' using parquet location '
        ~ coprod.quoted_text(location)) -%}
{%- endmacro %}
