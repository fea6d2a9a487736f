{#- Whether a codebook phrase (int_codebook_phrases: `before` words, `after` words when the
    phrase has a ... gap, and its anchor) occurs in an answer's words (words_for_matching).
    Anchored to the whole answer: the answer's words are exactly its words; to the start of the
    answer: they begin with its words. Otherwise, without a gap: a substring search; with one:
    the first occurrence of `before`, then `after` within the next three words (counted as the
    spaces between them). Plain string functions both engines have. -#}
{% macro phrase_occurs(text, before, after, anchor) -%}
    {%- set rest -%}
        substr({{ text }}, instr({{ text }}, {{ before }}) + length({{ before }}) - 1)
    {%- endset -%}
    {%- set between -%}
        substr({{ rest }}, 1, instr({{ rest }}, {{ after }}) - 1)
    {%- endset -%}
    case
        when {{ anchor }} = 'whole answer' then {{ text }} = {{ before }}
        when {{ anchor }} = 'start of answer'
            then substr({{ text }}, 1, length({{ before }})) = {{ before }}
        when {{ after }} is null then {{ coprod.text_contains(text, before) }}
        else instr({{ text }}, {{ before }}) > 0
            and instr({{ rest }}, {{ after }}) > 0
            and length({{ between }}) - length(replace({{ between }}, ' ', '')) <= 3
    end
{%- endmacro %}
