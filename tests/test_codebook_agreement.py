"""The default codebook agrees with hand coding on realistic answers, measured through the real
pipeline (ingest, redaction, dbt's int_open_answers_coded on DuckDB).

tests/fixtures/open_answers_hand_coded_*.tsv: 166 answers to "What do you understand by
co-production?" and 162 to "Are there any challenges?", written for this test (hedges, typos,
sarcasm, Welsh, emoji) and hand-coded by the guides in their headers. The rules were written
with these answers in view, so the bar (95% each) guards the codebook against regressions; it
does not prove it generalises. open_answers_held_out.tsv (40 answers per question) was written
after the first rules were frozen and measured that (72.5% understanding, 67.5% challenges).
It is no longer held out: the rules were then widened into general vocabularies with it in
view, so it is a third development set, held to HELD_OUT_BAR. How well the rules generalise
is measured only by answers the rules were never tuned on: open_answers_blind.tsv (60 answers
per question), written by someone who never saw the rules or the other sets, under the same
guides, after the rules were widened. Its agreement is printed and held to BLIND_BAR.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from tests.builders import export, organisation, people, template_csv
from tests.conftest import open_workspace

FIXTURES = Path(__file__).parent / "fixtures"
BAR = 0.95
# Former held-out set, now in view: 0.725 (understanding) and 0.675 (challenges) when the
# first rules were frozen; 0.975 and 1.0 after the rules were widened (codebook-widen).
HELD_OUT_BAR = 0.95
# Blind set, measured once the widened rules were merged: 0.950 (understanding, 57 of 60) and
# 0.967 (challenges, 58 of 60).
BLIND_BAR = 0.95


def hand_coded(name: str) -> list[dict]:
    lines = [line for line in (FIXTURES / name).read_text().splitlines() if line[:1] != "#"]
    return list(csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE))


DEFINE = hand_coded("open_answers_hand_coded_define.tsv")
CHALLENGES = hand_coded("open_answers_hand_coded_challenges.tsv")
HELD_OUT = hand_coded("open_answers_held_out.tsv")
BLIND = hand_coded("open_answers_blind.tsv")
HELD_DEFINE = [r for r in HELD_OUT if r["question_id"] == "CP_DEFINE"]
HELD_CHALLENGES = [r for r in HELD_OUT if r["question_id"] == "CP_CHALL"]
BLIND_DEFINE = [r for r in BLIND if r["question_id"] == "CP_DEFINE"]
BLIND_CHALLENGES = [r for r in BLIND if r["question_id"] == "CP_CHALL"]


@pytest.fixture(scope="module")
def codebook_codes(tmp_path_factory, module_monkeypatch) -> dict[int, dict[str, str]]:
    """Per respondent (row index), the codebook's code(s) for each question, themes joined |."""
    workspace = open_workspace(tmp_path_factory.mktemp("agreement") / "data", module_monkeypatch)
    workspace.register(
        [organisation("agree_org", ["main"])], [export("agree.csv", "agree_org", 2025)]
    )
    define = [r["text"] for r in DEFINE + HELD_DEFINE + BLIND_DEFINE]
    challenges = [r["text"] for r in CHALLENGES + HELD_CHALLENGES + BLIND_CHALLENGES]
    count = max(len(define), len(challenges))
    rows = people(
        "Frontline care or support worker",
        count,
        "AG",
        "Main",
        year=2025,
        cp_define=define + [""] * (count - len(define)),
        cp_chall=challenges + [""] * (count - len(challenges)),
    )
    workspace.drop("agree.csv", template_csv(rows))
    assert workspace.run().success
    coded = workspace.query("""
        select r.row_number, c.question_id,
               string_agg(c.option_code, '|' order by c.option_code) as codes
        from intermediate.int_open_answers_coded c
        join validated.responses r using (file_sha256, response_key)
        group by all""")
    first = min(coded["row_number"])
    found: dict[int, dict[str, str]] = {}
    for row_number, question, codes in coded.iter_rows():
        found.setdefault(row_number - first, {})[question] = codes
    return found


def agreement(
    label: str, expected: list[dict], question: str, found: dict, offset: int = 0
) -> float:
    pairs = [
        (r["hand_code"], found.get(i + offset, {}).get(question, "(uncoded)"))
        for i, r in enumerate(expected)
    ]
    agreed = sum(hand == codebook for hand, codebook in pairs) / len(pairs)
    print(f"\n{label}: codebook agrees with hand coding on {agreed:.1%} of {len(pairs)} answers")
    print(confusion_matrix(pairs))
    for r, (hand, codebook) in zip(expected, pairs, strict=True):
        if hand != codebook:
            print(f"  {r['id']}: hand {hand}, codebook {codebook}: {r['text']}")
    return agreed


def confusion_matrix(pairs: list[tuple[str, str]]) -> str:
    """Rows: hand code; columns: codebook code (theme sets as a|b)."""
    labels = sorted({label for pair in pairs for label in pair})
    counts = Counter(pairs)
    width = max(len(label) for label in labels) + 2
    lines = ["hand \\ codebook".ljust(width) + "".join(label.rjust(width) for label in labels)]
    for hand in labels:
        cells = "".join(str(counts[hand, codebook]).rjust(width) for codebook in labels)
        lines.append(hand.ljust(width) + cells)
    return "\n".join(lines)


def test_understanding_agrees_with_hand_coding(codebook_codes):
    agreed = agreement("Understanding (CP_DEFINE)", DEFINE, "CP_DEFINE", codebook_codes)
    assert agreed >= BAR


def test_challenges_agree_with_hand_coding(codebook_codes):
    agreed = agreement("Challenges (CP_CHALL, theme sets)", CHALLENGES, "CP_CHALL", codebook_codes)
    assert agreed >= BAR


def test_answers_written_after_the_first_rules_agree_too(codebook_codes):
    understanding = agreement(
        "Formerly held out: understanding", HELD_DEFINE, "CP_DEFINE", codebook_codes, len(DEFINE)
    )
    challenges = agreement(
        "Formerly held out: challenges",
        HELD_CHALLENGES,
        "CP_CHALL",
        codebook_codes,
        len(CHALLENGES),
    )
    assert min(understanding, challenges) >= HELD_OUT_BAR


def test_answers_the_rules_never_saw_agree(codebook_codes):
    """The blind set: how the codebook codes a survey it was not tuned on."""
    understanding = agreement(
        "Blind: understanding",
        BLIND_DEFINE,
        "CP_DEFINE",
        codebook_codes,
        len(DEFINE) + len(HELD_DEFINE),
    )
    challenges = agreement(
        "Blind: challenges",
        BLIND_CHALLENGES,
        "CP_CHALL",
        codebook_codes,
        len(CHALLENGES) + len(HELD_CHALLENGES),
    )
    assert min(understanding, challenges) >= BLIND_BAR


def test_the_test_sets_are_as_large_and_varied_as_promised():
    assert len(DEFINE) >= 150 and len(CHALLENGES) >= 150
    assert {r["hand_code"] for r in DEFINE} == {"comprehensive", "partial", "unsure"}
    themes = {t for r in CHALLENGES for t in r["hand_code"].split("|")}
    assert themes == {"unaware_of_challenges", "time", "culture", "funding", "no_theme"}
    assert sum("|" in r["hand_code"] for r in CHALLENGES) >= 10  # several themes at once
    every = DEFINE + CHALLENGES + HELD_OUT + BLIND
    assert len({r["id"] for r in every}) == len(every)
    assert (len(BLIND_DEFINE), len(BLIND_CHALLENGES)) == (60, 60)
