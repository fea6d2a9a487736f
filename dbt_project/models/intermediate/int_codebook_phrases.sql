-- The codebook's phrases (ref_codebook.csv) made ready for matching: each phrase as the words
-- an answer is matched against (macros/adapters/text.sql: words_for_matching). A phrase ending
-- in * matches any ending of its last word (its words lose their closing space); a phrase with
-- ... matches its words before and after with at most three other words between (the part
-- after is kept apart). A phrase in square brackets is anchored (the brackets are not words):
-- "[no]" matches only an answer whose words are exactly its words (anchor 'whole answer'),
-- "[not really ...]" an answer that starts with them ('start of answer'). A phrase of
-- punctuation only ("?") matches answers without any word. lookup_key (macros/codebook.sql:
-- word_lookup_key) is what int_open_answers_coded looks the phrase up by among an answer's
-- words: its first word's first four characters; null for a phrase tested against every
-- answer (no word, or a one-word prefix shorter than the key).
with phrases as (
    select
        question_id,
        code,
        priority,
        rule,
        part,
        phrase,
        lower(trim(phrase)) as spelled
    from {{ ref('ref_codebook') }}
),

parsed as (
    select
        *,
        substr(spelled, length(spelled), 1) = '*' as is_prefix,
        instr(spelled, '...') as gap_at,
        substr(spelled, 1, 1) = '[' and substr(spelled, length(spelled), 1) = ']' as bracketed
    from phrases
),

split as (
    select
        *,
        case
            when bracketed and gap_at > 0 then 'start of answer'
            when bracketed then 'whole answer'
            else 'anywhere'
        end as anchor,
        case when gap_at > 0 then substr(spelled, 1, gap_at - 1) else spelled end as before_text,
        -- in brackets, a closing ... is the rest of the answer, not a gap
        case when gap_at > 0 and not bracketed then substr(spelled, gap_at + 3) end as after_text
    from parsed
),

worded as (
    select
        *,
        {{ words_for_matching("replace(before_text, '*', '')") }} as before_full,
        {{ words_for_matching("replace(after_text, '*', '')") }} as after_full
    from split
),

prepared as (
    select
        question_id,
        code,
        priority,
        rule,
        part,
        phrase,
        anchor,
        -- the prefix mark applies to the phrase's last word: the part after ..., if any
        case when is_prefix and after_text is null
            then substr(before_full, 1, length(before_full) - 1) else before_full end
            as before_words,
        case when is_prefix
            then substr(after_full, 1, length(after_full) - 1) else after_full end as after_words
    from worded
),

-- before_words without its opening space: its first word ends at the next space; with none,
-- that word is the phrase's only word and ends in * (a prefix), or there is no word
first_words as (
    select
        *,
        substr(before_words, 2) as from_first_word,
        instr(substr(before_words, 2), ' ') as first_word_end
    from prepared
)

select
    question_id,
    code,
    priority,
    rule,
    part,
    phrase,
    anchor,
    before_words,
    after_words,
    {{ word_lookup_key(
        "case when first_word_end > 0 then substr(from_first_word, 1, first_word_end - 1)"
        ~ " else from_first_word end",
        "first_word_end = 0"
    ) }} as lookup_key
from first_words
