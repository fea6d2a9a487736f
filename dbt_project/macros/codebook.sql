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

{#- The key a codebook phrase is looked up by, so that an answer is tested only against the
    phrases that could occur in it (int_open_answers_coded): the first four characters of a
    word. An answer holds a phrase only if one of its words begins with the phrase's first
    word (is that word, unless the phrase is that one word ending in *), so that word's key is
    the phrase's; except for a one-word prefix shorter than the key ("£*"), whose key is null
    when `is_prefix` (the phrase is then tested against every answer, as is one without a
    word). -#}
{% macro word_lookup_key(word, is_prefix=none) -%}
    {%- set key_characters = 4 -%}
    {%- if is_prefix is none -%}
        substr({{ word }}, 1, {{ key_characters }})
    {%- else -%}
        case when {{ word }} = '' or {{ is_prefix }} and length({{ word }}) < {{ key_characters }}
            then null else substr({{ word }}, 1, {{ key_characters }}) end
    {%- endif -%}
{%- endmacro %}
