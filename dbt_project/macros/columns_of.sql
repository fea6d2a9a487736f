{#- Every column of `relation` as a select list, each prefixed with `alias.` when given: how a
    model passes on "all the columns it read" after adding some of its own (a rank, a lag)
    without DuckDB's `* exclude` or Databricks' `* except`, which Spark does not read. The
    columns are those of the built relation, in its order, looked up when the model runs. -#}
{% macro columns_of(relation, alias=none) -%}
    {%- if not execute -%}{{ return('*') }}{%- endif -%}
    {%- set names = [] -%}
    {%- for column in adapter.get_columns_in_relation(relation) -%}
        {%- do names.append((alias ~ '.' if alias else '') ~ column.name) -%}
    {%- endfor -%}
    {{ return(names | join(', ')) }}
{%- endmacro %}
