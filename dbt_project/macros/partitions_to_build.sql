{#- Incremental models work on (organisation, wave) partitions: a run recomputes only the
    partitions whose current files changed since the last successful build. Which ones the
    running build recomputes is the warehouse view validated.partitions_in_build (see
    pipelines/file_state.py): every partition to build, or, when so many are to be built that
    one build would not fit in memory, the batch of them the pipeline is building now. Every row
    of such a model belongs to one partition (organisation_id, wave), so rebuilding a partition
    is "delete its rows, append them again" (the append strategy with this pre-hook): partitions
    whose files disappeared are cleared too, which delete+insert alone would miss.
    A full refresh (a changed model, seed or var: see pipelines/defs/transform.py) creates the
    table again: from every partition, or from the first batch when the pipeline builds in
    batches (validated.build_batch holds it); later batches are then appended.
    Both are named, not source()d: they steer the build and are not data the models read, so
    they stay out of the lineage an auditor follows (as dbt's own `where` for tests does). -#}

{#- `where` clause keeping the rows of `alias` that belong to the partitions being built. -#}
{% macro in_partitions_to_build(alias) -%}
    {%- if is_incremental() %}
    where exists (
        select 1 from validated.partitions_in_build as partitions_in_build
        where partitions_in_build.organisation_id = {{ alias }}.organisation_id
            and partitions_in_build.wave = {{ alias }}.wave
    )
    {%- else %}
    where not exists (select 1 from validated.build_batch)
        or exists (
            select 1 from validated.build_batch as build_batch
            where build_batch.organisation_id = {{ alias }}.organisation_id
                and build_batch.wave = {{ alias }}.wave
        )
    {%- endif %}
{%- endmacro %}

{#- Pre-hook of every partitioned incremental model: clear the partitions about to be rebuilt. -#}
{% macro delete_partitions_to_build() -%}
    {%- if is_incremental() -%}
    delete from {{ this }} as target
    where exists (
        select 1 from validated.partitions_in_build as partitions_in_build
        where partitions_in_build.organisation_id = target.organisation_id
            and partitions_in_build.wave = target.wave
    )
    {%- endif -%}
{%- endmacro %}
