{#- Incremental models work on (organisation, wave) partitions: a run recomputes only the
    partitions whose current files changed since the last successful build, as listed by the
    warehouse view validated.partitions_to_build (see pipelines/file_state.py). Every row of
    such a model belongs to one partition (organisation_id, wave), so rebuilding a partition is
    "delete its rows, append them again" (the append strategy with this pre-hook): partitions
    whose files disappeared are cleared too, which delete+insert alone would miss. A full
    refresh (a changed model, seed or var: see pipelines/defs/transform.py) rebuilds everything. -#}

{#- `where` clause keeping the rows of `alias` that belong to partitions to build (incremental
    runs only). -#}
{% macro in_partitions_to_build(alias) -%}
    {%- if is_incremental() %}
    where exists (
        select 1 from {{ source('validated', 'partitions_to_build') }} as partitions_to_build
        where partitions_to_build.organisation_id = {{ alias }}.organisation_id
            and partitions_to_build.wave = {{ alias }}.wave
    )
    {%- endif %}
{%- endmacro %}

{#- Pre-hook of every partitioned incremental model: clear the partitions about to be rebuilt. -#}
{% macro delete_partitions_to_build() -%}
    {%- if is_incremental() -%}
    delete from {{ this }} as target
    where exists (
        select 1 from {{ source('validated', 'partitions_to_build') }} as partitions_to_build
        where partitions_to_build.organisation_id = target.organisation_id
            and partitions_to_build.wave = target.wave
    )
    {%- endif -%}
{%- endmacro %}
