{#- Query shapes the engines spell differently: an anti join, and a span of minutes to compare
    a difference of timestamps with. -#}

{#- The keywords of an anti join: `from a {{ anti_join() }} b on ...` keeps the rows of a with
    no match in b. -#}
{% macro anti_join() -%}
    {{ return(adapter.dispatch('anti_join', 'coprod')()) }}
{%- endmacro %}
{% macro duckdb__anti_join() -%}anti join{%- endmacro %}
{% macro spark__anti_join() -%}left anti join{%- endmacro %}

{#- An interval of `minutes` minutes. -#}
{% macro minutes_interval(minutes) -%}
    {{ return(adapter.dispatch('minutes_interval', 'coprod')(minutes)) }}
{%- endmacro %}
{% macro duckdb__minutes_interval(minutes) -%}to_minutes({{ minutes }}){%- endmacro %}
{% macro spark__minutes_interval(minutes) -%}interval '{{ minutes | int }}' minute{%- endmacro %}
