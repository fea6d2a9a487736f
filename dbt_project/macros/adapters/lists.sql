{#- Lists (DuckDB) and arrays (Spark) of strings: make one, gather them, split a string into one,
    whether two share an element, and one row per element. -#}

{% macro array_of(expression) -%}
    {{ return(adapter.dispatch('array_of', 'coprod')(expression)) }}
{%- endmacro %}
{% macro duckdb__array_of(expression) -%}[{{ expression }}]{%- endmacro %}
{% macro spark__array_of(expression) -%}array({{ expression }}){%- endmacro %}

{#- Aggregate: every value of the group, as a list. -#}
{% macro array_agg_of(expression) -%}
    {{ return(adapter.dispatch('array_agg_of', 'coprod')(expression)) }}
{%- endmacro %}
{% macro duckdb__array_agg_of(expression) -%}list({{ expression }}){%- endmacro %}
{% macro spark__array_agg_of(expression) -%}collect_list({{ expression }}){%- endmacro %}

{#- A string split at every occurrence of a one-character delimiter (taken literally). -#}
{% macro split_to_array(text, delimiter) -%}
    {%- if delimiter | length != 1 -%}
        {{ exceptions.raise_compiler_error("split_to_array takes a one-character delimiter") }}
    {%- endif -%}
    {{ return(adapter.dispatch('split_to_array', 'coprod')(text, delimiter)) }}
{%- endmacro %}
{% macro duckdb__split_to_array(text, delimiter) -%}
    string_split({{ text }}, {{ coprod.quoted_text(delimiter) }})
{%- endmacro %}
{#- Spark's split takes a regular expression: a character class makes the delimiter literal. -#}
{% macro spark__split_to_array(text, delimiter) -%}
    split({{ text }}, {{ coprod.quoted_text('[' ~ ('\\' if delimiter in '\\^]-[' else '') ~ delimiter ~ ']') }})
{%- endmacro %}

{#- Whether two lists share an element (neither holds nulls here). -#}
{% macro arrays_overlap(left, right) -%}
    {{ return(adapter.dispatch('arrays_overlap', 'coprod')(left, right)) }}
{%- endmacro %}
{% macro duckdb__arrays_overlap(left, right) -%}list_has_any({{ left }}, {{ right }}){%- endmacro %}
{% macro spark__arrays_overlap(left, right) -%}arrays_overlap({{ left }}, {{ right }}){%- endmacro %}

{#- In a select list: one row per element of a list (the row's other columns repeated), as
    the column it is named as. -#}
{% macro unnest_to_rows(list) -%}
    {{ return(adapter.dispatch('unnest_to_rows', 'coprod')(list)) }}
{%- endmacro %}
{% macro duckdb__unnest_to_rows(list) -%}unnest({{ list }}){%- endmacro %}
{% macro spark__unnest_to_rows(list) -%}explode({{ list }}){%- endmacro %}
