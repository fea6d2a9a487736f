{#- Incremental models work on (organisation, wave) partitions: a run recomputes only the
    partitions whose current files changed since the last successful build. Which ones the
    running build recomputes is the warehouse view validated.partitions_in_build (see
    pipelines/file_state.py): every partition to build, or, when so many are to be built that
    one build would not fit in memory, the batch of them the pipeline is building now. Every row
    of such a model belongs to one partition (organisation_id, wave), so rebuilding a partition
    is "clear it, write its rows again" (on DuckDB: delete, then the append strategy; on Spark:
    drop the partition, then insert_overwrite): partitions whose files disappeared are cleared
    too, which delete+insert or an overwrite alone would miss.
    A full refresh (a changed model, seed or var: see pipelines/defs/transform.py) creates the
    table again: from every partition, or from the first batch when the pipeline builds in
    batches (validated.build_batch holds it); later batches are then appended.
    Both are named, not source()d: they steer the build and are not data the models read, so
    they stay out of the lineage an auditor follows (as dbt's own `where` for tests does). -#}

{#- `where` clause keeping the rows of `alias` that belong to the partitions being built. The
    organisations being built are also listed as constants: DuckDB then skips, while scanning,
    the blocks of rows (stored by partition) that hold none of them, so a build reads its
    partitions rather than the history. -#}
{% macro in_partitions_to_build(alias) -%}
    {%- set organisations = organisations_in_build() %}
    {%- if is_incremental() %}
    where {{ in_partitions_in_build(alias) }}
    {%- else %}
    where (not exists (select 1 from validated.build_batch)
        or exists (
            select 1 from validated.build_batch as build_batch
            where build_batch.organisation_id = {{ alias }}.organisation_id
                and build_batch.wave = {{ alias }}.wave
        ))
    {%- endif %}
    {%- if organisations %}
        and {{ alias }}.organisation_id in ({{ organisations }})
    {%- endif %}
{%- endmacro %}

{#- The organisations of the partitions being built, as SQL string literals ('' when every
    partition is, or too many to be worth listing). Read when the model runs, not when it is
    parsed. -#}
{% macro organisations_in_build() -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set listed = 'validated.partitions_in_build' if is_incremental() else 'validated.build_batch' -%}
    {%- set found = run_query(
        "select distinct organisation_id from " ~ listed ~ " where organisation_id is not null"
        ~ " order by 1 limit 2001") -%}
    {%- set names = found.columns[0].values() | list -%}
    {%- if names | length == 0 or names | length > 2000 -%}{{ return('') }}{%- endif -%}
    {%- set quoted = [] -%}
    {%- for name in names -%}
        {%- do quoted.append(coprod.quoted_text(name)) -%}
    {%- endfor -%}
    {{ return(quoted | join(', ')) }}
{%- endmacro %}

{#- Pre-hook of every partitioned incremental model: clear the partitions about to be rebuilt
    (DuckDB deletes their rows, Spark drops them: macros/adapters/partitions.sql). -#}
{% macro delete_partitions_to_build() -%}
    {{ return(adapter.dispatch('delete_partitions_to_build', 'coprod')()) }}
{%- endmacro %}

{#- True for the rows of `alias` in a partition the running build recomputes (models, the
    pre-hook above and scoped tests alike: macros/get_where_subquery.sql). -#}
{% macro in_partitions_in_build(alias) -%}
    exists (
        select 1 from validated.partitions_in_build as partitions_in_build
        where partitions_in_build.organisation_id = {{ alias }}.organisation_id
            and partitions_in_build.wave = {{ alias }}.wave
    )
{%- endmacro %}
