{#- Whether a codebook phrase (int_codebook_phrases: `before` words, `after` words when the
    phrase has a ... gap, and whether it must be the whole answer) occurs in an answer's words
    (words_for_matching). A whole-answer phrase: the answer's words are exactly its words.
    Without a gap: a substring search. With one: the first occurrence of `before`, then `after`
    within the next three words (counted as the spaces between them). Plain string functions
    both engines have. -#}
{% macro phrase_occurs(text, before, after, whole_answer) -%}
    {%- set rest -%}
        substr({{ text }}, instr({{ text }}, {{ before }}) + length({{ before }}) - 1)
    {%- endset -%}
    {%- set between -%}
        substr({{ rest }}, 1, instr({{ rest }}, {{ after }}) - 1)
    {%- endset -%}
    case
        when {{ whole_answer }} then {{ text }} = {{ before }}
        when {{ after }} is null then {{ coprod.text_contains(text, before) }}
        else instr({{ text }}, {{ before }}) > 0
            and instr({{ rest }}, {{ after }}) > 0
            and length({{ between }}) - length(replace({{ between }}, ' ', '')) <= 3
    end
{%- endmacro %}
