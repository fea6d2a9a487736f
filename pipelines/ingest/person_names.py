"""Names nobody listed: recognise people's names in free text from a gazetteer and from context.

`redact_person_names` turns a polars string expression into one with names replaced by "[name]".
It is a fixed chain of regular-expression replacements (no Python per row); the alternations
are built once, from person_names.txt (common UK given names and surnames of many origins).

Rules, in order:

1. A gazetteer name written with a capital (Priya, Hughes, O'Brien) is a name; so is a
   lower-case one (priya, hughes) unless the name is also an ordinary word.
2. Names that are also ordinary words come in two kinds:
   - NAME_WORDS (Will, Rose, Grace, Hope, Frank...) are names when capitalised mid-sentence
     ("thanks to Grace"), after a cue word, next to or joined by and/&/, to another name
     ("Grace Hughes", "Bill and Priya"), or before words that say it is a person ("Joy from
     the office", "Robin rang"); never when lower case ("I will", "a rose") or otherwise
     starting a sentence ("Hope this helps").
   - RARE_NAMES (May, June, Brown, Hall, Ward, Walker, Foster...) are names only after a cue
     word or next to another name ("Mrs Hall", "Tom Walker"): capitalised mid-sentence they are
     more often a month, a place or a service ("in May", "the Day Centre", "Rose Ward").
3. After a title (dr, mr, mrs, ms, miss, sister, nurse, councillor...) any capitalised word is a
   name ("Mrs Ward"). After a cue word (keyworker, carer, called, named, ask, thanks, thank
   you...) so is any capitalised word, gazetteer or not ("my keyworker Kasimir"), except a
   short list of words that follow those cues without being names (the, days, months, Social
   Services...; all-caps words such as NHS never count). The cue or title stays: "my keyworker
   [name]", "Dr [name]".
4. A capitalised word straight after a name is a surname, listed or not ("Jo Bloggs").
5. A full name becomes one placeholder: "Tom Hughes helped me" -> "[name] helped me" (and
   "Smith-Jones" -> "[name]"). Names joined by anything else stay apart: "[name] and [name]".

Only the name words are replaced; a possessive keeps its "'s" ("[name]'s surgery"). ALL-CAPS
names ("PRIYA") are not recognised.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import polars as pl

NAMES_FILE = Path(__file__).with_name("person_names.txt")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Names that are ordinary words: names only when capitalised mid-sentence, after a cue, or next
# to another name.
NAME_WORDS = _words(
    """
    Will Mark Bill Frank Jack Robin Rose Grace Hope Joy Dawn Holly Amber Iris Faith Sunny Daisy
    Lily Violet Hazel Heather Pearl Ruby Olive Penny Ivy Poppy Willow Jade Skye Iona Victor Gene
    Carol Sue Pat Rob Bob Nick Drew Chase Guy Ray Kay Dot Peg Jean Ed Al Di Mo Kit Pip Ash Bud
    Sonny Ginger Crystal Rocky Sandy Lance Cliff Glen Dale Heath Brook Rex Mike Reg Stan Gill Dev
    Yaw Tope Patience Mercy Charity Blessing Precious Gift Favour Peace Comfort Honour Divine
    Prosper Destiny Praise Marvellous Success Innocent Goodluck
    """
)
# Names that are more often something else when capitalised: names only after a cue or next to
# another name.
RARE_NAMES = _words(
    """
    May June April Summer Autumn Jan Eve Noel Star Sky Art Max Miles Earl Duke Prince Jordan
    Milan Nana Mason Dean Hunter Brown Green White Black Young Hall King Bell Baker Walker Fowler
    Archer Miller Potter Barber Shepherd Porter Cook Price Long Day Page Grant Rice Moon Bird Lamb
    Sharp Swift Rich Best Cross Law Lord House Field Marsh Moss Stone West North East South Bond
    Bush Chance Booth Hood Banks Church Wells Little Steel Gold Silver Frost Snow Winter Summers
    Storm Noble Major Sweet Strong Small Short Wise Friend Child Brook Brooks Rivers Lane Street
    Ford Hale Head Pope Bishop Abbott Parsons Ward Wood Woods Hill Mills Hunt Butler Fisher
    Holland Foster Watts Fox Berry Knight Gray Grey Power Lynch Lad Butt Islam
    """
)

# Titles: any capitalised word after one is a name ("Mrs Ward", "Dr Patel").
TITLES = (
    "dr",
    "doctor",
    "mr",
    "mrs",
    "ms",
    "mx",
    "miss",
    "sister",
    "nurse",
    "councillor",
    "cllr",
    "prof",
    "professor",
)
# Other cues: a capitalised word after one is a name unless it is in NOT_NAMES_AFTER_CUE.
CUES = (
    "key worker",
    "key-worker",
    "keyworker",
    "support worker",
    "carer",
    "called",
    "named",
    "ask",
    "thanks",
    "thank you",
    "cheers",
)
# Words after a name-word that say it is a person: "Joy from the office", "Robin rang me".
PERSON_CONTEXT = (
    "from",
    "on nights",
    "on days",
    "on reception",
    "helped",
    "helps",
    "said",
    "says",
    "came",
    "comes",
    "rang",
    "rings",
    "phoned",
    "told",
    "tells",
    "knows",
    "explained",
    "listens",
    "listened",
    "sorted",
    "took",
    "does my",
    "did my",
    "is my",
    "is our",
    "is the best",
    "is lovely",
    "is brilliant",
    "is amazing",
    "was lovely",
    "always",
    "never",
)
# Capitalised words that follow a cue without being a name ("thanks NHS" is caught by needing
# a lower-case second letter).
NOT_NAMES_AFTER_CUE = _words(
    """
    The This That These Those There Then Than It Its He She They We You Your My Our His Her Their
    Them Me Us All Everyone Everybody Anyone Someone Nobody Again Also And Or But So For To
    Of In On At By With From About Very Much Please Sorry Yes No Not Just Only If When What
    Who How Why Where Which Team Staff Manager Management Reception Office Admin Social Services
    Council Care Home House Centre Center Night Unit Hospital Surgery Practice Service
    Doctor Doctors Dr Mr Mrs Ms Mx Miss Sister Nurse Nurses Carer Carers Keyworker Mum Dad Nan
    Prof Professor Councillor Cllr
    Grandma Grandad God Lord Jesus Christmas Easter Monday Tuesday Wednesday Thursday Friday
    Saturday Sunday January February March July August September October November December
    Today Tomorrow Yesterday Morning Afternoon Evening Everything Anything Nothing Lots Loads
    Ok Okay Hello Hi Bye Love Hun Mate Guys Ladies Lads Folks Both Each Every Many
    Some Most Other Others One Two Three First Next Last Google Facebook Whatsapp Zoom Teams
    """
)

_MARK = "\x01"  # put before a word after a cue that is not a name, removed at the end


def load_person_names(path: Path = NAMES_FILE) -> tuple[str, ...]:
    """The gazetteer: one name per line, # for comments, duplicates dropped."""
    seen: dict[str, None] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            seen[line] = None
    return tuple(seen)


def _alternation(words) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=lambda w: (-len(w), w)))


@cache
def _patterns() -> tuple[tuple[str, str, bool], ...]:
    """(pattern, replacement, literal) steps, built once per process."""
    names = load_person_names()
    word_like = NAME_WORDS | RARE_NAMES
    plain = [n for n in names if n not in word_like]
    # Capitalised as written, and all lower case; a lower-case form that is a word is left out.
    lower_words = {w.lower() for w in word_like}
    plain_forms = plain + [n.lower() for n in plain if n.lower() not in lower_words]
    # Apostrophe variants: O'Brien and O’Brien.
    plain_forms += [n.replace("'", "’") for n in plain_forms if "'" in n]
    cues = _alternation(CUES)
    titles = _alternation(TITLES)
    context = _alternation(PERSON_CONTEXT)
    b = r"\b"
    any_name_word = _alternation(word_like)
    name_words = _alternation(NAME_WORDS)
    return (
        # After a cue, mark capitalised words that are not names so that the next step passes them.
        (
            rf"{b}((?i:{cues})\.?[ \t]+)((?:{_alternation(NOT_NAMES_AFTER_CUE)}){b})",
            f"${{1}}{_MARK}${{2}}",
            False,
        ),
        # Cue or title, then a capitalised word: "my keyworker Priya", "thanks Kasimir",
        # "Dr Patel", "Mrs O'Neill".
        (
            rf"{b}((?i:{cues}|{titles})\.?[ \t]+)\p{{Lu}}(?:['’]\p{{Lu}})?\p{{Ll}}+{b}",
            "${1}[name]",
            False,
        ),
        # Gazetteer names that are not words, capitalised or lower case.
        (rf"{b}(?:{_alternation(plain_forms)}){b}", "[name]", False),
        # Word-like names next to a name: "Grace [name]", "[name] Hall".
        (rf"\[name\]([ \t]+)(?:{any_name_word}){b}", "[name]${1}[name]", False),
        (rf"{b}(?:{any_name_word})([ \t]+)\[name\]", "[name]${1}[name]", False),
        # A name-word before words that say it is a
        # person ("Joy from the office", "Robin rang me").
        (rf"{b}(?:{name_words})([ \t]+(?i:{context}){b})", "[name]${1}", False),
        # Name-words capitalised mid-sentence: after a lower-case word, a digit or a comma.
        (rf"([\p{{Ll}}\d][,;:]?[ \t]+|, ?)(?:{name_words}){b}", "${1}[name]", False),
        # Name-words joined to a name: "Bill and [name]", "[name], Iris".
        (rf"{b}(?:{name_words})([ \t]*(?:and|&|,)[ \t]*)\[name\]", "[name]${1}[name]", False),
        (rf"\[name\]([ \t]*(?:and|&|,)[ \t]*)(?:{name_words}){b}", "[name]${1}[name]", False),
        # An unknown capitalised word straight after a name is a surname: "[name] Bloggs".
        (r"\[name\]([ \t]+)\p{Lu}\p{Ll}+(?:\p{Lu}\p{Ll}+)?\b", "[name]${1}[name]", False),
        # One placeholder for a full name.
        (r"\[name\](?:(?:[ \t]+|[ \t]*-[ \t]*)\[name\])+", "[name]", False),
        (_MARK, "", True),
    )


def redact_person_names(text: pl.Expr) -> pl.Expr:
    """Replace people's names in `text` with "[name]" (see the module docstring)."""
    for pattern, replacement, literal in _patterns():
        text = text.str.replace_all(pattern, replacement, literal=literal)
    return text
