{#- The columns comparing this wave's cell (k of n) with an earlier wave's (<prefix>_k of
    <prefix>_n): that wave's percentage, the change in points, its p-value and significance.
    All null unless can_compare_<against> (both published, comparable wording). Used by
    mart_measure_changes for the baseline and for the previous wave. -#}
{% macro change_columns(against, prefix) -%}
    cast(case when can_compare_{{ against }}
        then round(100.0 * {{ prefix }}_k / {{ prefix }}_n, 1) end as double) as pct_{{ against }},
    cast(case when can_compare_{{ against }}
        then round(100.0 * (cast(k as double) / n - cast({{ prefix }}_k as double) / {{ prefix }}_n), 1)
    end as double) as change_pp_from_{{ against }},
    cast(case when can_compare_{{ against }}
        then {{ two_proportion_p_value(prefix ~ '_k', prefix ~ '_n', 'k', 'n') }}
    end as double) as p_value_vs_{{ against }},
    case when can_compare_{{ against }}
        then coalesce({{ two_proportion_p_value(prefix ~ '_k', prefix ~ '_n', 'k', 'n') }}
            < {{ var('significance_level') }}, false)
    end as significant_vs_{{ against }},
    comparable_with_{{ against }}
{%- endmacro %}
