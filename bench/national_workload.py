"""A workload shaped like a national programme, written as Qualtrics would export it.

Many organisations (3 to 8 services each), three waves, one or more files per organisation and
wave, so that per-file costs show. Each file carries what real exports carry: preview, test and
unfinished rows (about 3%), free text with commas, quotes and line breaks, personal columns
(names, emails, IP addresses, locations) that must never pass ingest, and submission times in
Europe/London that cross the spring clock change (some fall in the hour that does not exist).

    python bench/national_workload.py OUT_DIR --responses 100000 --organisations 200

writes OUT_DIR/inbox/*.csv and OUT_DIR/sources.yml. Deterministic for the same arguments.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import yaml

WAVES = (2024, 2025, 2026)
SERVICE_NAMES = (
    "Community Outreach", "Residential Rehab", "Harm Reduction", "Family Support",
    "Day Centre", "Memory Clinic", "Carers Hub", "Home Support", "Supported Living",
    "Peer Mentoring", "Advice Line", "Recovery College",
)  # fmt: skip
GROUPS = (
    ("Senior leader or manager", 0.08),
    ("Frontline care or support worker", 0.30),
    ("Clinical or professional practitioner", 0.08),
    ("Support functions", 0.05),
    ("Peer or lived-experience worker", 0.04),
    ("Volunteer", 0.04),
    ("Trustee", 0.01),
    ("Person who draws on care and support", 0.28),
    ("Unpaid carer or family member", 0.12),
)
YES_NO_UNSURE = ("Yes", "No", "Not sure")
BARRIERS = (
    "Time", "Time,Cost", "Organisational culture", "Communication,Training",
    "None I'm aware of", "Time,Power imbalance,Other", "Accessibility", "",
)  # fmt: skip
IMPORTANCE = ("Vital", "Very important", "Quite important", "Not very important")
LADDER = ("Informing", "Consultation", "Engagement", "Co-design", "Co-production")
AGREEMENT = ("Strongly agree", "Agree", "Neither agree nor disagree", "Disagree", "Don't know")
TEXTS = (
    "Working as equals to design and deliver services, with people who use them.",
    'Not sure, to be honest. "Co-production" is a new word to me.',
    "Asking people what they think,\nthen doing something about it.",
    "Time and workload make it hard; we are short-staffed.",
    "I am not aware of any challenges.",
    "It builds confidence, trust and better services.",
    "",
)
STATUSES = ("IP Address", "Survey Preview", "Survey Test", "Spam")
METADATA = (
    "StartDate", "EndDate", "Status", "IPAddress", "Progress", "Duration (in seconds)",
    "Finished", "RecordedDate", "ResponseId", "RecipientLastName", "RecipientFirstName",
    "RecipientEmail", "ExternalReference", "LocationLatitude", "LocationLongitude",
    "DistributionChannel", "UserLanguage",
)  # fmt: skip
TIMED = {"StartDate", "EndDate", "RecordedDate"}


@dataclass(frozen=True)
class Workload:
    inbox: Path
    registry_file: Path
    files: int
    responses: int
    bytes: int


def _clock_change(year: int) -> np.datetime64:
    """01:00 local on the last Sunday of March: the hour 01:00-02:00 does not exist in London."""
    last = np.datetime64(f"{year}-03-31")
    weekday = (last.astype("datetime64[D]").view("int64") - 4) % 7  # 1970-01-01 was a Thursday
    return np.datetime64(f"{year}-03-{31 - int(weekday):02d}T01:00:00")


def _pick(rng: np.random.Generator, options: tuple[str, ...], rows: int, p=None) -> np.ndarray:
    return np.asarray(options, dtype=object)[rng.choice(len(options), rows, p=p)]


def export_frame(rows: int, seed: int, wave: int, services: list[str]) -> pl.DataFrame:
    """One export's rows, drawn column by column (no Python loop per row)."""
    rng = np.random.default_rng(seed)
    # A fortnight either side of the clock change; 1 in 500 in the hour that does not exist.
    change = _clock_change(wave)
    offsets = rng.integers(-14 * 86400, 14 * 86400, rows)
    skipped = rng.random(rows) < 0.002
    offsets = np.where(skipped, rng.integers(0, 3600, rows), offsets)
    when = (change + offsets.astype("timedelta64[s]")).astype("datetime64[us]")
    stamp = pl.Series(when).dt.strftime("%Y-%m-%d %H:%M:%S")
    ids = pl.Series([f"R_{seed}_"] * rows) + pl.Series(np.arange(rows)).cast(pl.String)
    excluded = rng.random(rows)
    status = np.where(excluded < 0.015, _pick(rng, STATUSES[1:], rows), "IP Address")
    finished = np.where((excluded >= 0.015) & (excluded < 0.03), "False", "True")
    groups, weights = zip(*GROUPS, strict=True)
    return pl.DataFrame(
        {
            "StartDate": stamp,
            "EndDate": stamp,
            "Status": status,
            "IPAddress": "192.0.2.44",
            "Progress": "100",
            "Duration (in seconds)": "312",
            "Finished": finished,
            "RecordedDate": stamp,
            "ResponseId": ids,
            "RecipientLastName": "Bloggs",
            "RecipientFirstName": "Jo",
            "RecipientEmail": "jo.bloggs@example.org",
            "ExternalReference": ids,
            "LocationLatitude": "53.48",
            "LocationLongitude": "-2.24",
            "DistributionChannel": "email",
            "UserLanguage": "EN-GB",
            "Q_SERVICE": _pick(rng, tuple(services), rows),
            "Q_ROLE": _pick(rng, groups, rows, p=np.asarray(weights) / sum(weights)),
            "QID1": _pick(rng, YES_NO_UNSURE, rows, p=[0.62, 0.23, 0.15]),
            "QID2": _pick(rng, TEXTS, rows),
            "QID3": _pick(rng, YES_NO_UNSURE, rows),
            "QID4": _pick(rng, YES_NO_UNSURE, rows),
            "QID5": _pick(rng, ("Yes", "No"), rows),
            "QID6": _pick(rng, BARRIERS, rows),
            "QID6_9_TEXT": _pick(rng, ("", "", "", "Staff turnover, mostly"), rows),
            "QID7": _pick(rng, IMPORTANCE, rows),
            "QID8": _pick(rng, LADDER, rows),
            "QID9": _pick(rng, AGREEMENT, rows),
            "QID10": _pick(rng, AGREEMENT, rows),
            "QID13": _pick(rng, TEXTS, rows),
            # Declared questions this workload leaves unanswered: a real export has every
            # column, blank where nobody answered (a file without them is refused).
            **{
                c: ""
                for c in ("Q_HELP", "Q_STAFF_LE", *(f"QID{q}" for q in (11, 12, *range(14, 19))))
            },
        }
    )


def qualtrics_csv(frame: pl.DataFrame) -> str:
    """Qualtrics' three header rows (ids, question texts, ImportId JSON with the time zone)."""
    header = ",".join(frame.columns)

    def import_id(column: str) -> str:
        zone = '""timeZone"":""Europe/London""' if column in TIMED else ""
        return f'"{{""ImportId"":""{column}""{"," + zone if zone else ""}}}"'

    import_ids = ",".join(import_id(c) for c in frame.columns)
    return f"{header}\n{header}\n{import_ids}\n{frame.write_csv(include_header=False)}"


def write_workload(
    out: Path,
    responses: int,
    organisations: int,
    files_per_partition: int = 1,
    seed: int = 7,
    waves: tuple[int, ...] = WAVES,
) -> Workload:
    inbox = out / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    partitions = organisations * len(waves)
    per_file = max(1, math.ceil(responses / (partitions * files_per_partition)))
    registry: dict[str, list] = {"organisations": [], "exports": []}
    files = total = size = 0
    for org in range(organisations):
        org_id = f"org_{org:04d}"
        chosen = rng.choice(len(SERVICE_NAMES), int(rng.integers(3, 9)), replace=False)
        services = [SERVICE_NAMES[i] for i in sorted(chosen)]
        registry["organisations"].append(
            {
                "id": org_id,
                "name": f"Organisation {org:04d}",
                "type": ("nhs", "local_authority", "voluntary_sector", "private_provider")[org % 4],
                "services": [{"id": s.lower().replace(" ", "_"), "name": s} for s in services],
            }
        )
        for wave in waves:
            for part in range(files_per_partition):
                rows = min(per_file, responses - total)
                if rows <= 0:
                    break
                name = f"{org_id}_{wave}_{part:02d}_qualtrics.csv"
                text = qualtrics_csv(export_frame(rows, seed * 1_000_003 + files, wave, services))
                (inbox / name).write_text(text, encoding="utf-8")
                registry["exports"].append(
                    {
                        "file": name,
                        "organisation": org_id,
                        "wave": wave,
                        "tool": "qualtrics",
                        "instrument": "qualtrics_coprod_v1",
                    }
                )
                files, total, size = files + 1, total + rows, size + len(text)
    registry_file = out / "sources.yml"
    registry_file.write_text(yaml.safe_dump(registry, sort_keys=False), encoding="utf-8")
    return Workload(inbox, registry_file, files, total, size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--responses", type=int, default=100_000)
    parser.add_argument("--organisations", type=int, default=200)
    parser.add_argument("--files-per-partition", type=int, default=1)
    args = parser.parse_args()
    workload = write_workload(
        args.out, args.responses, args.organisations, args.files_per_partition
    )
    print(
        f"{workload.responses:,} responses in {workload.files} files "
        f"({workload.bytes / 1e6:.1f} MB) in {workload.inbox}"
    )


if __name__ == "__main__":
    main()
