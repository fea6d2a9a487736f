{#- Pre-hook of every partitioned incremental model (macros/partitions_to_build.sql): clear
    the (organisation, wave) partitions about to be rebuilt, including those whose files have
    gone, which an overwrite of the partitions the new rows fall in would miss. -#}

{#- DuckDB: delete their rows; the model then appends them again (incremental_strategy append). -#}
{% macro duckdb__delete_partitions_to_build() -%}
    {%- if is_incremental() -%}
    delete from {{ this }} as target where {{ in_partitions_in_build('target') }}
    {%- endif -%}
{%- endmacro %}

{#- Spark: the table is partitioned by (organisation_id, wave) in Parquet, where rows cannot be
    deleted: drop the partitions instead; the model then writes them again
    (incremental_strategy insert_overwrite, dynamic: only the partitions it writes). -#}
{% macro spark__delete_partitions_to_build() -%}
    {%- if is_incremental() and execute -%}
        {%- set found = run_query(
            "select distinct organisation_id, wave from validated.partitions_in_build"
            ~ " where organisation_id is not null and wave is not null order by 1, 2") -%}
        {%- if found.rows | length > 0 -%}
    alter table {{ this }} drop if exists
            {%- for row in found.rows %}
        partition (organisation_id = {{ coprod.quoted_text(row[0]) }}, wave = {{ row[1] | int }})
                {{- "," if not loop.last }}
            {%- endfor %}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
