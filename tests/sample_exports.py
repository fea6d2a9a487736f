"""Write the bundled sample exports into data/samples/ (deterministic: same bytes every time).

Three organisations, a 2024 baseline and 2025 and 2026 annual waves, each in a different
survey tool's layout, with the mess real exports carry: preview and unfinished rows, names and
emails, a repeated submission, typed service names, a Windows-1252 file and a reworded question.
Understanding and involvement rise visibly across the waves.

    python -m tests.sample_exports [--out data/samples]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipelines.settings import REPO_ROOT

WAVES = (2024, 2025, 2026)

WORKFORCE = {
    "senior_manager": 0.12,
    "frontline": 0.34,
    "practitioner": 0.10,
    "support_function": 0.05,
    "peer_worker": 0.05,
    "volunteer": 0.04,
}
LIVED = {"person_drawing_on_care": 0.20, "carer": 0.10}
GROUP_LABELS = {
    "senior_manager": "Senior leader or manager",
    "frontline": "Frontline care or support worker",
    "practitioner": "Clinical or professional practitioner",
    "support_function": "Support functions",
    "peer_worker": "Peer or lived-experience worker",
    "volunteer": "Volunteer",
    "person_drawing_on_care": "Person who draws on care and support",
    "carer": "Unpaid carer or family member",
}
BARRIERS = [
    "Time",
    "Organisational culture",
    "Cost",
    "Communication",
    "Training",
    "Power imbalance",
    "Accessibility",
    "None I'm aware of",
]
AGREEMENT = [
    "Strongly agree",
    "Agree",
    "Neither agree nor disagree",
    "Disagree",
    "Strongly disagree",
    "Don't know",
]
IMPORTANCE = ["Vital", "Very important", "Quite important", "Not very important", "Not important"]
LADDER = [
    "Coercion",
    "Educating",
    "Informing",
    "Consultation",
    "Engagement",
    "Co-design",
    "Co-production",
]
DEFINITIONS = {
    "comprehensive": [
        "People who use services and staff working as equals to design and deliver support.",
        "Sharing power with people with lived experience, as equal partners from the start.",
        "Designing and delivering services together, with shared ownership of decisions.",
    ],
    "partial": [
        "Asking people what they think about the service.",
        "Working together with families.",
        "Getting feedback from clients and carers.",
    ],
    "unsure": ["Not sure.", "I don't know what it means.", "No idea, never heard the term."],
}
CHALLENGES = [
    "Time and workload make it hard.",
    "The culture here resists change.",
    "There is no budget for paying people.",
    "I am not aware of any challenges.",
    "Finding people who want to take part.",
    "Ask Jo Bloggs on 07700 900123 or jo.bloggs@example.org at the M1 1AE office.",
]
BENEFITS = [
    "Better services that work for people.",
    "It builds confidence.",
    "Stronger relationships and trust.",
    "Hard to say.",
]


@dataclass(frozen=True)
class Organisation:
    org_id: str
    tool: str
    services: tuple[str, ...]  # as respondents see or type them
    seed: int
    awareness: float  # baseline chance a frontline worker has heard of co-production
    growth: float  # added per wave


ORGANISATIONS = (
    Organisation(
        "riverside_recovery",
        "qualtrics",
        ("Community Outreach", "Residential Rehab", "Harm Reduction", "Family Support"),
        seed=11,
        awareness=0.50,
        growth=0.12,
    ),
    Organisation(
        "oakfield_care",
        "surveymonkey",
        ("Oakfield House", "Meadow View", "Birch Lodge"),
        seed=22,
        awareness=0.40,
        growth=0.10,
    ),
    Organisation(
        "memory_matters",
        "template",
        ("Memory Clinic", "Day Centre", "Carers\u2019 Support", "Home Support"),
        seed=33,
        awareness=0.55,
        growth=0.08,
    ),
)


def _choice(rng: np.random.Generator, options: list[str], weights: list[float]) -> str:
    p = np.asarray(weights, dtype=float)
    return options[int(rng.choice(len(options), p=p / p.sum()))]


def respondents(org: Organisation, wave: int, count: int) -> list[dict]:
    """Canonical answers (labels and text) for one organisation's wave."""
    rng = np.random.default_rng(org.seed * 1000 + wave)
    step = WAVES.index(wave)
    groups = {**WORKFORCE, **LIVED}
    start = dt.datetime(wave, 3, 1, 9, 0, 0)
    people = []
    for i in range(count):
        group = _choice(rng, list(groups), list(groups.values()))
        workforce = group in WORKFORCE
        lift = org.growth * step + (0.2 if group == "senior_manager" else 0.0)
        aware_p = min(0.95, org.awareness + lift + (0.0 if workforce else -0.1))
        aware = _choice(
            rng, ["Yes", "No", "Not sure"], [aware_p, (1 - aware_p) * 0.6, (1 - aware_p) * 0.4]
        )
        level = _choice(rng, list(DEFINITIONS), [0.3 + 0.15 * step, 0.45, 0.25 - 0.1 * step])
        person = {
            "n": i,
            "submitted": start
            + dt.timedelta(
                days=int(rng.integers(0, 27)),
                minutes=int(rng.integers(0, 600)),
                seconds=int(rng.integers(0, 60)),
            ),
            "service": org.services[int(rng.integers(0, len(org.services)))],
            "group": group,
            "ref": f"{org.org_id[:3].upper()}-{i:04d}",
            "help": "Yes" if (not workforce and rng.random() < 0.3) else "No",
            "staff_le": "Yes" if (workforce and rng.random() < 0.2) else "No",
            "CP_AWARE": aware,
            "CP_DEFINE": DEFINITIONS[level][int(rng.integers(0, 3))],
            "CP_VALUE": _choice(rng, IMPORTANCE, [0.45 + 0.08 * step, 0.3, 0.15, 0.07, 0.03]),
            "CP_LADDER": _choice(
                rng, LADDER, [0.03, 0.07, 0.2, 0.25 - 0.05 * step, 0.2, 0.15 + 0.05 * step, 0.1]
            ),
            "CP_VALUED": _choice(rng, AGREEMENT, [0.2 + 0.05 * step, 0.35, 0.2, 0.12, 0.05, 0.08]),
        }
        if workforce:
            did_p = 0.35 + 0.1 * step + (0.15 if group == "senior_manager" else 0)
            person["CP_STAFF_DID"] = _choice(rng, ["Yes", "No"], [did_p, 1 - did_p])
            chosen = [
                b
                for b, p in zip(
                    BARRIERS[:-1],
                    [0.47, 0.31 - 0.04 * step, 0.26, 0.25, 0.18, 0.12, 0.08],
                    strict=True,
                )
                if rng.random() < p
            ]
            person["CP_BARRIER"] = chosen or ["None I'm aware of"]
            if rng.random() < 0.06:
                person["CP_BARRIER"] = [*chosen, "Other"]
                person["CP_BARRIER_OTHER"] = "Rotas change at short notice"
            person["CP_FEEL"] = [
                "It is rewarding.",
                "We work as a team, as equals.",
                "A bit awkward at first.",
            ][int(rng.integers(0, 3))]
            person["CP_MORE"] = ["More training.", "Protected time.", "Hearing what changed."][
                int(rng.integers(0, 3))
            ]
            person["CP_CHALL"] = CHALLENGES[int(rng.integers(0, len(CHALLENGES)))]
            person["CP_BENEFIT"] = BENEFITS[int(rng.integers(0, len(BENEFITS)))]
        else:
            own_p = 0.45 + 0.1 * step
            svc_p = 0.25 + 0.08 * step
            person["CP_OPP_OWN"] = _choice(
                rng, ["Yes", "No", "Not sure"], [own_p, (1 - own_p) * 0.7, (1 - own_p) * 0.3]
            )
            person["CP_OPP_SVC"] = _choice(
                rng, ["Yes", "No", "Not sure"], [svc_p, (1 - svc_p) * 0.7, (1 - svc_p) * 0.3]
            )
            person["CP_SAY"] = _choice(
                rng, AGREEMENT, [0.15 + 0.05 * step, 0.3, 0.25, 0.15, 0.07, 0.08]
            )
        if rng.random() < 0.4:  # people who took part in co-production activity
            for item, p in (
                ("PR_START", 0.4 + 0.1 * step),
                ("PR_PAY", 0.3 + 0.1 * step),
                ("PR_COSTS", 0.6),
                ("PR_OUTCOME", 0.35 + 0.15 * step),
            ):
                person[item] = "Yes" if rng.random() < p else "No"
        people.append(person)
    return people


ANSWER_QUESTIONS = (
    "CP_AWARE",
    "CP_DEFINE",
    "CP_OPP_OWN",
    "CP_OPP_SVC",
    "CP_STAFF_DID",
    "CP_BARRIER",
    "CP_VALUE",
    "CP_LADDER",
    "CP_SAY",
    "CP_VALUED",
    "CP_FEEL",
    "CP_MORE",
    "CP_CHALL",
    "CP_BENEFIT",
    "PR_START",
    "PR_PAY",
    "PR_COSTS",
    "PR_OUTCOME",
)
WORDING = {
    "CP_AWARE": "Before today had you heard of co-production?",
    "CP_DEFINE": "In your own words what does co-production mean?",
    "CP_OPP_OWN": "Have you had opportunities to co-produce your own care and support?",
    "CP_OPP_SVC": "Have you been involved in co-producing services or policies?",
    "CP_STAFF_DID": "In the last 12 months have you worked alongside people with lived "
    "experience to design deliver or review a service?",
    "CP_BARRIER": "What gets in the way of co-production? (select all that apply)",
    "CP_VALUE": "How important is co-production to the quality of our services?",
    "CP_LADDER": "Which best describes how people are usually involved in decisions here?",
    "CP_SAY": "I have a say in how my support is designed and delivered",
    "CP_VALUED": "My contribution is valued equally",
    "CP_FEEL": "How does it feel to work alongside peers and people who use services?",
    "CP_MORE": "What would make you feel more involved?",
    "CP_CHALL": "What challenges do you see in co-production?",
    "CP_BENEFIT": "What are the benefits of co-production?",
    "PR_START": "Were you involved from the start?",
    "PR_PAY": "Was payment or recognition offered up front?",
    "PR_COSTS": "Were your travel and other costs covered?",
    "PR_OUTCOME": "Were you told the outcome?",
}


def _csv_text(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def qualtrics_export(people: list[dict], wave: int) -> bytes:
    meta = [
        "StartDate",
        "EndDate",
        "Status",
        "IPAddress",
        "Progress",
        "Duration (in seconds)",
        "Finished",
        "RecordedDate",
        "ResponseId",
        "RecipientLastName",
        "RecipientFirstName",
        "RecipientEmail",
        "ExternalReference",
        "LocationLatitude",
        "LocationLongitude",
        "DistributionChannel",
        "UserLanguage",
    ]
    qids = [f"QID{i}" for i in range(1, len(ANSWER_QUESTIONS) + 1)]
    profile = ["Q_SERVICE", "Q_ROLE", "Q_HELP", "Q_STAFF_LE"]
    header = [*meta, *profile, *qids[:6], "QID6_9_TEXT", *qids[6:]]
    texts = [
        *meta,
        "Which service?",
        "Which best describes you?",
        "Did someone help you?",
        "Do you have lived experience?",
        *(WORDING[q] for q in ANSWER_QUESTIONS[:6]),
        "What gets in the way of co-production? - Other - Text",
        *(WORDING[q] for q in ANSWER_QUESTIONS[6:]),
    ]
    import_ids = [
        f'{{"ImportId":"{h}","timeZone":"Europe/London"}}'
        if "Date" in h
        else f'{{"ImportId":"{h}"}}'
        for h in header
    ]
    rows = [header, texts, import_ids]
    for p in people:
        status, finished = "IP Address", "True"
        if p["n"] in (3, 4):
            status = "Survey Preview"
        if p["n"] in (7, 8, 9):
            finished = "False"
        when = p["submitted"].strftime("%Y-%m-%d %H:%M:%S")
        answers = {q: p.get(q, "") for q in ANSWER_QUESTIONS}
        answers["CP_BARRIER"] = ",".join(p.get("CP_BARRIER", []))
        row = [
            when,
            when,
            status,
            f"192.0.2.{p['n'] % 250}",
            "100" if finished == "True" else "40",
            "412",
            finished,
            when,
            f"R_{wave}{p['n']:05d}x",
            "Bloggs",
            "Jo",
            f"person{p['n']}@example.org",
            p["ref"],
            "53.48",
            "-2.24",
            "anonymous",
            "EN-GB",
            p["service"],
            GROUP_LABELS[p["group"]],
            p["help"],
            p["staff_le"],
            *(answers[q] for q in ANSWER_QUESTIONS[:6]),
            p.get("CP_BARRIER_OTHER", ""),
            *(answers[q] for q in ANSWER_QUESTIONS[6:]),
        ]
        rows.append(row)
    return _csv_text(rows).encode("utf-8")


def surveymonkey_export(people: list[dict], wave: int) -> bytes:
    meta = [
        "Respondent ID",
        "Collector ID",
        "Start Date",
        "End Date",
        "IP Address",
        "Email Address",
        "First Name",
        "Last Name",
        "Custom Data 1",
    ]
    profile = [
        ("Which service do you use or work in?", "Response"),
        ("Which best describes you?", "Response"),
        ("Did someone help you complete this survey?", "Response"),
        ("Do you have lived experience of drawing on care and support?", "Response"),
    ]
    none_label = "None that I am aware of" if wave == 2024 else "None I'm aware of"
    options = [*BARRIERS[:-1], none_label, "Other (please specify)"]
    top, sub = list(meta), [""] * len(meta)
    for text, kind in profile:
        top.append(text)
        sub.append(kind)
    for q in ANSWER_QUESTIONS:
        if q == "CP_BARRIER":
            for i, option in enumerate(options):
                top.append(WORDING[q] if i == 0 else "")
                sub.append(option)
        else:
            top.append(WORDING[q])
            sub.append(
                "Open-Ended Response"
                if q in {"CP_DEFINE", "CP_FEEL", "CP_MORE", "CP_CHALL", "CP_BENEFIT"}
                else "Response"
            )
    rows = [top, sub]
    for p in people:
        when = p["submitted"].strftime("%m/%d/%Y %I:%M:%S %p")
        row = [
            str(110000000 + wave * 1000 + p["n"]),
            "4411",
            when,
            when,
            f"198.51.100.{p['n'] % 250}",
            f"resp{p['n']}@example.org",
            "Sam",
            "Smith",
            p["ref"],
            p["service"],
            GROUP_LABELS[p["group"]],
            p["help"],
            p["staff_le"],
        ]
        for q in ANSWER_QUESTIONS:
            if q == "CP_BARRIER":
                chosen = p.get("CP_BARRIER", [])
                for option in options:
                    label = "None I'm aware of" if option == none_label else option
                    if option == "Other (please specify)":
                        row.append(p.get("CP_BARRIER_OTHER", ""))
                    else:
                        row.append(option if label in chosen else "")
            else:
                row.append(p.get(q, ""))
        rows.append(row)
    # A repeated submission: the same person pressed submit again three minutes later.
    again = list(rows[2])
    again[0] = str(int(again[0]) + 900)
    repeat_time = people[0]["submitted"] + dt.timedelta(minutes=3)
    again[2] = again[3] = repeat_time.strftime("%m/%d/%Y %I:%M:%S %p")
    rows.append(again)
    text = _csv_text(rows)
    # Excel re-saved the 2025 file as Windows-1252, with a curly apostrophe and an accent.
    if wave == 2025:
        text = text.replace("It builds confidence.", "It builds confidence \u2019 café.", 1)
        return text.encode("cp1252")
    return ("\ufeff" + text).encode("utf-8")


def template_columns() -> list[str]:
    """The project's own CSV template: the tool's id and time columns (survey_tools.yml), then
    the columns its instrument declares in the crosswalk, in the crosswalk's order."""
    from pipelines.reference import load_reference

    crosswalk = load_reference().instrument_columns
    declared = crosswalk.filter(crosswalk["instrument_id"] == "coprod_template_v1")
    return ["respondent_id", "submitted_at", *declared["source_column"].to_list()]


def template_export(people: list[dict], wave: int) -> bytes:
    header = template_columns()
    rows = [header]
    for p in people:
        service = p["service"]
        if p["n"] % 7 == 0:  # typed by hand: odd case and spacing
            service = "  " + service.upper().replace(" ", "  ") + " "
        if p["n"] == 5:
            service = "Dr Patel's surgery"  # not one of this organisation's services
        answers = {q: p.get(q, "") for q in ANSWER_QUESTIONS}
        answers["CP_BARRIER"] = ";".join(p.get("CP_BARRIER", []))
        values = {
            "respondent_id": f"MM{wave}-{p['n']:04d}",
            "submitted_at": p["submitted"].strftime("%Y-%m-%d %H:%M:%S"),
            "service": service,
            "respondent_group": GROUP_LABELS[p["group"]],
            "respondent_ref": p["ref"],
            "completed_with_help": p["help"],
            "staff_lived_experience": p["staff_le"],
            **{q.lower(): answers[q] for q in ANSWER_QUESTIONS},
            "cp_barrier_other": p.get("CP_BARRIER_OTHER", ""),
        }
        rows.append([values.get(column, "") for column in header])
    return _csv_text(rows).encode("utf-8")


WRITERS: dict[str, tuple[Callable[[list[dict], int], bytes], str]] = {
    "qualtrics": (qualtrics_export, "csv"),
    "surveymonkey": (surveymonkey_export, "csv"),
    "template": (template_export, "csv"),
}
SIZES = {2024: 150, 2025: 170, 2026: 190}


def write_samples(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for org in ORGANISATIONS:
        writer, suffix = WRITERS[org.tool]
        for wave in WAVES:
            path = out / f"{org.org_id}_{wave}_{org.tool}.{suffix}"
            path.write_bytes(writer(respondents(org, wave, SIZES[wave]), wave))
            written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "data" / "samples")
    args = parser.parse_args()
    for path in write_samples(args.out):
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
