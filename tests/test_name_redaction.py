"""Names nobody listed are redacted from free text (issue 12, point 4).

A full name becomes one placeholder ("Tom Hughes helped me" -> "[name] helped me"); a cue word
or title stays ("my keyworker [name]", "Dr [name]'s surgery").
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import polars as pl
import pytest

from pipelines.ingest.privacy import redact, redact_text

FIXTURE = Path(__file__).parent / "fixtures" / "name_redaction_answers.tsv"
_TOKENS = re.compile(r"\[name\]|[\w’']+|[^\w\s]")


def labelled_answers() -> list[tuple[str, list[str]]]:
    rows = []
    lines = [ln for ln in FIXTURE.read_text(encoding="utf-8").splitlines() if ln.strip()]
    for line in lines:
        if line.startswith("#") or line.startswith("answer\t"):
            continue
        answer, _, names = line.partition("\t")
        rows.append((answer, [n for n in names.split("|") if n]))
    return rows


def words(text: str) -> list[str]:
    # A possessive 's stays with the placeholder, so split it off names too.
    return [t for t in _TOKENS.findall(re.sub(r"['’]s\b", " 's", text))]


def redacted_words(original: str, redacted: str) -> list[str]:
    """The words of `original` that became a [name] in `redacted`."""
    before, after = words(original), words(redacted)
    out = []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op in ("replace", "delete") and (op == "delete" or "[name]" in after[j1:j2]):
            out.extend(w for w in before[i1:i2] if re.match(r"\w", w))
    return out


def test_recall_and_precision_on_hand_labelled_answers():
    rows = labelled_answers()
    assert len(rows) >= 150
    redacted = redact_text([answer for answer, _ in rows])
    present = removed = spans = right = 0
    over, missed = [], []
    for (answer, names), result in zip(rows, redacted, strict=True):
        name_words = [w for n in names for w in words(n) if re.match(r"\w", w)]
        gone = redacted_words(answer, result)
        for w in name_words:
            present += 1
            if w in gone:
                removed += 1
            else:
                missed.append(f"{answer!r} -> {result!r} (kept {w!r})")
        label = {w.lower() for w in name_words}
        for w in gone:
            spans += 1
            if w.lower() in label:
                right += 1
            else:
                over.append(f"{answer!r} -> {result!r} (removed {w!r})")
    recall = removed / present
    precision = right / spans if spans else 1.0
    report = (
        f"recall {recall:.3f} ({removed}/{present}), precision {precision:.3f} ({right}/{spans})"
        + "\nover-redacted:\n  "
        + "\n  ".join(over)
        + "\nmissed:\n  "
        + "\n  ".join(missed)
    )
    print(report)
    assert recall >= 0.95, report
    assert precision >= 0.9, report


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("my keyworker Priya is great", "my keyworker [name] is great"),
        # A full name is one placeholder.
        ("Tom Hughes helped me", "[name] helped me"),
        ("Ask Jo Bloggs or Smith-Jones", "Ask [name] or [name]"),
        ("Dr Patel's surgery", "Dr [name]'s surgery"),
        ("priya and tom were lovely", "[name] and [name] were lovely"),
        # Names that are words: by context.
        ("my carer will ring", "my carer will ring"),
        ("my carer Will rang", "my carer [name] rang"),
        ("Hope this helps, thanks to Grace", "Hope this helps, thanks to [name]"),
        ("Mrs Hall came in May", "Mrs [name] came in May"),
        ("in the Summer we went to the Day Centre", "in the Summer we went to the Day Centre"),
        ("thanks NHS and thank you Social Services", "thanks NHS and thank you Social Services"),
        # Any capitalised word after a cue, listed or not; emoji and accents.
        ("a lady called Kasimira 😊", "a lady called [name] 😊"),
        ("thank you Dr Kovačević 😊", "thank you Dr [name] 😊"),
        ("Siân and Łukasz", "[name] and [name]"),
        ("Nothing to add", "Nothing to add"),
    ],
)
def test_exact_cases(answer, expected):
    assert redact_text([answer]) == [expected]


def test_listed_names_and_contact_details_still_go_first():
    assert redact_text(["Ask Will Green on 07700 900123"], ("Will Green",)) == [
        "Ask [name] on [phone]"
    ]


def test_person_names_can_be_switched_off():
    frame = pl.DataFrame({"t": ["Tom Hughes helped"]})
    assert frame.select(redact(pl.col("t"), person_names=False))["t"].to_list() == [
        "Tom Hughes helped"
    ]
