{#- The measure id under which int_measure_cells counts each cell's respondents: a cell of its
    own, so the respondent count goes through the very breakdowns, suppression families and
    rounds every measure does, and mart_respondents publishes it. No measure may take this id
    (tests/assert_no_measure_takes_the_respondents_id.sql). -#}
{% macro respondents_measure_id() -%}
    'respondents'
{%- endmacro %}
