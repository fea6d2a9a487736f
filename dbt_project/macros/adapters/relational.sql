{#- Query shapes the engines spell differently: an anti join, every column but some, and a
    span of minutes to compare a difference of timestamps with. -#}

{#- The keywords of an anti join: `from a {{ anti_join() }} b on ...` keeps the rows of a with
    no match in b. -#}
{% macro anti_join() -%}
    {{ return(adapter.dispatch('anti_join', 'coprod')()) }}
{%- endmacro %}
{% macro duckdb__anti_join() -%}anti join{%- endmacro %}
{% macro spark__anti_join() -%}left anti join{%- endmacro %}

{#- Every column of `relation_alias` (or of the whole from clause when none) except `columns`. -#}
{% macro star_except(columns, relation_alias=none) -%}
    {{ return(adapter.dispatch('star_except', 'coprod')(columns, relation_alias)) }}
{%- endmacro %}
{% macro duckdb__star_except(columns, relation_alias) -%}
    {{ relation_alias ~ '.' if relation_alias }}* exclude ({{ columns | join(', ') }})
{%- endmacro %}
{% macro spark__star_except(columns, relation_alias) -%}
    {{ relation_alias ~ '.' if relation_alias }}* except ({{ columns | join(', ') }})
{%- endmacro %}

{#- An interval of `minutes` minutes. -#}
{% macro minutes_interval(minutes) -%}
    {{ return(adapter.dispatch('minutes_interval', 'coprod')(minutes)) }}
{%- endmacro %}
{% macro duckdb__minutes_interval(minutes) -%}to_minutes({{ minutes }}){%- endmacro %}
{% macro spark__minutes_interval(minutes) -%}interval '{{ minutes | int }}' minute{%- endmacro %}
