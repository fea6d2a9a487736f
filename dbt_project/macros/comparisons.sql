{#- What every published mart prints about a cell and about two cells compared, written once so
    the marts agree in names and rules. -#}

{#- A cell's published figures: n, k, pct and its Wilson 95% interval (named n<suffix>,
    k<suffix>...), all null unless `shown`. Wherever a mart prints a percentage it prints these. -#}
{% macro cell_figures(k, n, shown, suffix='') -%}
    cast(case when {{ shown }} then {{ n }} end as integer) as n{{ suffix }},
    cast(case when {{ shown }} then {{ k }} end as integer) as k{{ suffix }},
    cast(case when {{ shown }} then round(100.0 * {{ k }} / {{ n }}, 1) end as double)
        as pct{{ suffix }},
    cast(case when {{ shown }} then round({{ wilson_low(k, n) }}, 1) end as double)
        as ci_low{{ suffix }},
    cast(case when {{ shown }} then round({{ wilson_high(k, n) }}, 1) end as double)
        as ci_high{{ suffix }}
{%- endmacro %}

{#- Two proportions compared, k2 of n2 against k1 of n1: the difference in points (second minus
    first, exact then rounded to one decimal) named `difference`, the two-sided pooled z-test
    p-value (unrounded) and its significance, named p_value_vs_<against> and
    significant_vs_<against>; all null unless `when`. -#}
{% macro proportion_comparison(k1, n1, k2, n2, when, difference, against) -%}
    cast(case when {{ when }}
        then round(100.0 * (cast({{ k2 }} as double) / {{ n2 }}
            - cast({{ k1 }} as double) / {{ n1 }}), 1)
    end as double) as {{ difference }},
    cast(case when {{ when }} then {{ two_proportion_p_value(k1, n1, k2, n2) }} end as double)
        as p_value_vs_{{ against }},
    case when {{ when }}
        then coalesce({{ two_proportion_p_value(k1, n1, k2, n2) }}
            < {{ var('significance_level') }}, false)
    end as significant_vs_{{ against }}
{%- endmacro %}

{#- The same cell (organisation, breakdown, service, group, measure) in two relations, such as a
    wave and its baseline. -#}
{% macro same_cell(left, right) -%}
    {{ left }}.organisation_id = {{ right }}.organisation_id
    and {{ left }}.breakdown = {{ right }}.breakdown
    and {{ left }}.service_id = {{ right }}.service_id
    and {{ left }}.group_id = {{ right }}.group_id
    and {{ left }}.measure_id = {{ right }}.measure_id
{%- endmacro %}

{#- mart_measure_changes' columns for one earlier wave (`against`: baseline or previous) whose
    counts are <prefix>_k of <prefix>_n: that wave's figures, the change in points, its p-value
    and significance (all null unless can_compare_<against>), and comparable_with_<against>. -#}
{% macro change_columns(against, prefix) -%}
    {{ cell_figures(prefix ~ '_k', prefix ~ '_n', 'can_compare_' ~ against, '_' ~ against) }},
    {{ proportion_comparison(prefix ~ '_k', prefix ~ '_n', 'k', 'n', 'can_compare_' ~ against,
        'change_pp_from_' ~ against, against) }},
    comparable_with_{{ against }}
{%- endmacro %}
