{#- A text as the words a codebook phrase is matched against: lower case, curly apostrophes made
    straight, every run of characters other than letters, digits and apostrophes one space, with
    a space at each end. A phrase matches as whole words when its own words occur, space-bounded,
    in the answer's: a substring search, far cheaper than a regular expression per pair. -#}
{% macro words_for_matching(text) -%}
    ' ' || trim(regexp_replace(lower(replace({{ text }}, '’', '''')), '[^\pL\pN'']+', ' ', 'g'))
    || ' '
{%- endmacro %}
