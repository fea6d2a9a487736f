{#- Text: string literals, substring search, the distinct values of a group joined in order,
    and the words of a text for the codebook's whole-word matching. -#}

{#- A string literal holding `value` as it is. DuckDB's literals take no backslash escapes and
    read '' as one quote; Spark's take backslash escapes and read 'a''b' as two literals
    joined, 'ab': there a quote is written \' and a backslash doubled. -#}
{% macro quoted_text(value) -%}
    {{ return(adapter.dispatch('quoted_text', 'coprod')(value)) }}
{%- endmacro %}
{% macro default__quoted_text(value) -%}
    '{{ value | replace("'", "''") }}'
{%- endmacro %}
{% macro spark__quoted_text(value) -%}
    '{{ value | replace("\\", "\\\\") | replace("'", "\\'") }}'
{%- endmacro %}

{#- Whether `needle` occurs in `haystack`. -#}
{% macro text_contains(haystack, needle) -%}
    {{ return(adapter.dispatch('text_contains', 'coprod')(haystack, needle)) }}
{%- endmacro %}
{% macro duckdb__text_contains(haystack, needle) -%}contains({{ haystack }}, {{ needle }}){%- endmacro %}
{% macro spark__text_contains(haystack, needle) -%}instr({{ haystack }}, {{ needle }}) > 0{%- endmacro %}

{#- Aggregate: the distinct non-null values of a string expression, sorted (byte order, as
    both engines sort strings by default), joined by `separator`. -#}
{% macro string_agg_distinct_sorted(expression, separator) -%}
    {{ return(adapter.dispatch('string_agg_distinct_sorted', 'coprod')(expression, separator)) }}
{%- endmacro %}
{% macro duckdb__string_agg_distinct_sorted(expression, separator) -%}
    string_agg(distinct {{ expression }}, {{ coprod.quoted_text(separator) }} order by {{ expression }})
{%- endmacro %}
{% macro spark__string_agg_distinct_sorted(expression, separator) -%}
    array_join(array_sort(collect_set({{ expression }})), {{ coprod.quoted_text(separator) }})
{%- endmacro %}

{#- Aggregate: the non-null values of a string expression, sorted (byte order), joined by
    `separator`; for values already distinct within the group, where the distinct aggregate
    above would cost a second pass. -#}
{% macro string_agg_sorted(expression, separator) -%}
    {{ return(adapter.dispatch('string_agg_sorted', 'coprod')(expression, separator)) }}
{%- endmacro %}
{% macro duckdb__string_agg_sorted(expression, separator) -%}
    string_agg({{ expression }}, {{ coprod.quoted_text(separator) }} order by {{ expression }})
{%- endmacro %}
{% macro spark__string_agg_sorted(expression, separator) -%}
    array_join(array_sort(collect_list({{ expression }})), {{ coprod.quoted_text(separator) }})
{%- endmacro %}

{#- A text as the words a codebook phrase is matched against: lower case, apostrophes (straight
    or curly) dropped, so "don't", "don’t" and "dont" are one word, then every run of characters
    other than letters, digits and currency signs one space, with a space at each end ("£££" is
    a word, so a phrase can name it). A phrase matches as whole words when its own words occur,
    space-bounded, in the answer's: a substring search, far cheaper than a regular expression
    per pair. DuckDB's regular expressions are RE2 (replace every match with 'g'); Spark's are
    Java's (replace every match always), and its string literals read backslash escapes (\' for
    a quote: '' would end the literal). Both read \pL, \pN and \p{Sc}. -#}
{% macro words_for_matching(text) -%}
    {{ return(adapter.dispatch('words_for_matching', 'coprod')(text)) }}
{%- endmacro %}
{% macro duckdb__words_for_matching(text) -%}
    ' ' || trim(regexp_replace(
        regexp_replace(lower({{ text }}), '[''’‘]', '', 'g'), '[^\pL\pN\p{Sc}]+', ' ', 'g'
    )) || ' '
{%- endmacro %}
{% macro spark__words_for_matching(text) -%}
    ' ' || trim(regexp_replace(
        regexp_replace(lower({{ text }}), '[\'’‘]', ''), '[^\\pL\\pN\\p{Sc}]+', ' '
    )) || ' '
{%- endmacro %}
