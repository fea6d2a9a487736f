{#- Statistics used by every published mart, in one place so all marts agree. Written in SQL
    both engines read: power() rather than ^ (which Spark reads as bitwise xor), and cast(). -#}

{#- Wilson score interval for k successes in n trials, as a percentage. -#}
{% macro wilson_bound(k, n, sign) -%}
    case when {{ n }} > 0 then 100.0 * (
        (cast({{ k }} as double) / {{ n }}) + power({{ var('z_95') }}, 2) / (2.0 * {{ n }})
        {{ sign }} {{ var('z_95') }} * sqrt(
            (cast({{ k }} as double) / {{ n }}) * (1 - cast({{ k }} as double) / {{ n }}) / {{ n }}
            + power({{ var('z_95') }}, 2) / (4.0 * power({{ n }}, 2)))
    ) / (1 + power({{ var('z_95') }}, 2) / {{ n }}) end
{%- endmacro %}

{% macro wilson_low(k, n) -%}{{ wilson_bound(k, n, '-') }}{%- endmacro %}
{% macro wilson_high(k, n) -%}{{ wilson_bound(k, n, '+') }}{%- endmacro %}

{#- Complementary error function for x >= 0 (Abramowitz and Stegun 7.1.26, |error| < 1.5e-7).
    DuckDB has no erf; this is accurate far beyond the four decimals we publish. -#}
{% macro erfc_nonnegative(x) -%}
    (exp(-({{ x }}) * ({{ x }})) * (
        0.254829592 * (1.0 / (1.0 + 0.3275911 * ({{ x }})))
        - 0.284496736 * power(1.0 / (1.0 + 0.3275911 * ({{ x }})), 2)
        + 1.421413741 * power(1.0 / (1.0 + 0.3275911 * ({{ x }})), 3)
        - 1.453152027 * power(1.0 / (1.0 + 0.3275911 * ({{ x }})), 4)
        + 1.061405429 * power(1.0 / (1.0 + 0.3275911 * ({{ x }})), 5)))
{%- endmacro %}

{#- Two-sided p-value of the pooled two-proportion z-test (k1 of n1 against k2 of n2).
    Null when the pooled proportion is 0 or 1 (no variance: nothing to test). -#}
{% macro two_proportion_p_value(k1, n1, k2, n2) -%}
    case
        when {{ n1 }} > 0 and {{ n2 }} > 0
             and ({{ k1 }} + {{ k2 }}) > 0 and ({{ k1 }} + {{ k2 }}) < ({{ n1 }} + {{ n2 }})
        then least(1.0, {{ erfc_nonnegative(
            'abs(cast(' ~ k2 ~ ' as double) / ' ~ n2 ~ ' - cast(' ~ k1 ~ ' as double) / ' ~ n1
            ~ ') / sqrt((cast(' ~ k1 ~ ' + ' ~ k2 ~ ' as double) / (' ~ n1 ~ ' + ' ~ n2 ~ '))'
            ~ ' * (1 - cast(' ~ k1 ~ ' + ' ~ k2 ~ ' as double) / (' ~ n1 ~ ' + ' ~ n2 ~ '))'
            ~ ' * (1.0 / ' ~ n1 ~ ' + 1.0 / ' ~ n2 ~ ')) / sqrt(2.0)') }})
    end
{%- endmacro %}
