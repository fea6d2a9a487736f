"""Benchmark: a full pipeline run on N synthetic responses in Qualtrics' export layout.

    python bench/run_bench.py                 # 100,000 responses
    python bench/run_bench.py --rows 1000000  # a million

Reports wall time and peak resident memory (this process and its children, so dbt counts) per
Dagster step, and writes the figures to bench/results/<time>.json. Runs in a temporary folder;
nothing in the repository's data/ is touched.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import polars as pl
import yaml

from pipelines.sample_exports import AGREEMENT

ORGANISATIONS = 10
WAVES = (2024, 2025, 2026)
SERVICES = ("Community Outreach", "Residential Rehab", "Harm Reduction", "Family Support")
GROUPS = (
    "Senior leader or manager",
    "Frontline care or support worker",
    "Clinical or professional practitioner",
    "Person who draws on care and support",
    "Unpaid carer or family member",
)
YES_NO_UNSURE = ("Yes", "No", "Not sure")
BARRIERS = (
    "Time",
    "Time,Cost",
    "Organisational culture",
    "Communication,Training",
    "None I'm aware of",
    "Time,Power imbalance,Other",
)
TEXTS = (
    "Working as equals to design and deliver services.",
    "Not sure.",
    "Asking people what they think.",
    "Time and workload make it hard.",
    "I am not aware of any challenges.",
    "It builds confidence.",
)


def qualtrics_frame(rows: int, seed: int, wave: int) -> pl.DataFrame:
    """One export's responses, drawn column by column with numpy (no Python loop per row)."""
    rng = np.random.default_rng(seed)

    def pick(options: tuple[str, ...]) -> np.ndarray:
        return np.asarray(options, dtype=object)[rng.integers(0, len(options), rows)]

    seconds = rng.integers(0, 27 * 86400, rows)
    when = np.datetime64(f"{wave}-03-01T08:00:00") + seconds.astype("timedelta64[s]")
    stamp = pl.Series(when.astype("datetime64[us]")).dt.strftime("%Y-%m-%d %H:%M:%S")
    ids = pl.Series([f"R_{seed}_"] * rows) + pl.Series(np.arange(rows)).cast(pl.String)
    status = np.where(rng.random(rows) < 0.01, "Survey Preview", "IP Address")
    finished = np.where(rng.random(rows) < 0.02, "False", "True")
    return pl.DataFrame(
        {
            "StartDate": stamp,
            "EndDate": stamp,
            "Status": status,
            "IPAddress": "192.0.2.1",
            "Progress": "100",
            "Duration (in seconds)": "300",
            "Finished": finished,
            "RecordedDate": stamp,
            "ResponseId": ids,
            "RecipientLastName": "Bloggs",
            "RecipientFirstName": "Jo",
            "RecipientEmail": "jo@example.org",
            "ExternalReference": ids,
            "LocationLatitude": "53.4",
            "LocationLongitude": "-2.2",
            "DistributionChannel": "email",
            "UserLanguage": "EN",
            "Q_SERVICE": pick(SERVICES),
            "Q_ROLE": pick(GROUPS),
            "QID1": pick(YES_NO_UNSURE),
            "QID2": pick(TEXTS),
            "QID3": pick(YES_NO_UNSURE),
            "QID4": pick(YES_NO_UNSURE),
            "QID5": pick(("Yes", "No")),
            "QID6": pick(BARRIERS),
            "QID7": pick(("Vital", "Very important")),
            "QID9": pick(AGREEMENT),
            "QID10": pick(AGREEMENT),
            "QID13": pick(TEXTS),
        }
    )


def write_exports(inbox: Path, total: int) -> dict:
    """Files and the registry that declares them."""
    per_file = max(1, total // (ORGANISATIONS * len(WAVES)))
    organisations, exports = [], []
    for org in range(ORGANISATIONS):
        org_id = f"bench_org_{org:02d}"
        organisations.append(
            {
                "id": org_id,
                "type": "voluntary_sector",
                "services": [{"id": s.lower().replace(" ", "_"), "name": s} for s in SERVICES],
            }
        )
        for wave in WAVES:
            frame = qualtrics_frame(per_file, seed=org * 10_000 + wave, wave=wave)
            name = f"{org_id}_{wave}.csv"
            header = ",".join(frame.columns)
            import_ids = ",".join(f'"{{""ImportId"":""{c}""}}"' for c in frame.columns)
            body = frame.write_csv(include_header=False)
            (inbox / name).write_text(f"{header}\n{header}\n{import_ids}\n{body}")
            exports.append(
                {
                    "file": name,
                    "organisation": org_id,
                    "wave": wave,
                    "tool": "qualtrics",
                    "instrument": "qualtrics_coprod_v1",
                }
            )
    return {"organisations": organisations, "exports": exports}


class PeakMemory:
    """Samples resident memory of this process and all its descendants every 50 ms."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _tree_rss(pid: int) -> int:
        total, stack = 0, [pid]
        while stack:
            current = stack.pop()
            try:
                status = Path(f"/proc/{current}/status").read_text()
                total += (
                    int(
                        next(
                            line.split()[1]
                            for line in status.splitlines()
                            if line.startswith("VmRSS:")
                        )
                    )
                    * 1024
                )
                for task in Path(f"/proc/{current}/task").iterdir():
                    stack += [int(c) for c in (task / "children").read_text().split()]
            except (OSError, StopIteration, ValueError):
                continue
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), self._tree_rss(os.getpid())))
            time.sleep(0.05)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def peak(self, start: float, end: float) -> int:
        inside = [rss for t, rss in self.samples if start <= t <= end]
        return max(inside, default=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="coprod-bench-") as folder:
        root = Path(folder) / "data"
        inbox = root / "inbox"
        inbox.mkdir(parents=True)
        started = time.time()
        registry = write_exports(inbox, args.rows)
        generated = time.time() - started
        (root / "sources.yml").write_text(yaml.safe_dump(registry, sort_keys=False))
        os.environ.update(
            {
                "COPROD_DATA_DIR": str(root),
                "COPROD_INBOX": str(inbox),
                "COPROD_REGISTRY": str(root / "sources.yml"),
                "COPROD_WAREHOUSE": str(root / "warehouse.duckdb"),
                "DAGSTER_HOME": str(Path(folder) / "dagster_home"),
                "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            }
        )
        Path(os.environ["DAGSTER_HOME"]).mkdir()

        import dagster as dg

        from pipelines.cli import ensure_dbt_manifest
        from pipelines.definitions import defs

        ensure_dbt_manifest()
        instance = dg.DagsterInstance.ephemeral()
        with PeakMemory() as memory:
            run_started = time.time()
            result = defs.resolve_job_def("coprod_full_run").execute_in_process(
                instance=instance,
                raise_on_error=True,
                run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
            )
            run_ended = time.time()

        steps: dict[str, dict] = {}
        for record in instance.all_logs(result.run_id):
            event = record.dagster_event
            if event is None or event.step_key is None:
                continue
            step = steps.setdefault(event.step_key, {})
            if event.event_type_value == "STEP_START":
                step["start"] = record.timestamp
            elif event.event_type_value in {"STEP_SUCCESS", "STEP_FAILURE"}:
                step["end"] = record.timestamp
        input_bytes = sum(p.stat().st_size for p in inbox.iterdir())
        report = {
            "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "rows_requested": args.rows,
            "input_files": len(registry["exports"]),
            "input_mb": round(input_bytes / 1e6, 1),
            "generate_seconds": round(generated, 1),
            "run_seconds": round(run_ended - run_started, 1),
            "run_peak_rss_mb": round(memory.peak(run_started, run_ended) / 1e6),
            "steps": {
                key: {
                    "seconds": round(s["end"] - s["start"], 1),
                    "peak_rss_mb": round(memory.peak(s["start"], s["end"]) / 1e6),
                }
                for key, s in steps.items()
                if "start" in s and "end" in s
            },
        }
    print(
        f"{args.rows:,} responses in {report['input_files']} Qualtrics files "
        f"({report['input_mb']} MB), generated in {report['generate_seconds']} s"
    )
    print(f"{'step':<40} {'seconds':>8} {'peak RSS MB':>12}")
    for key, figures in report["steps"].items():
        print(f"{key:<40} {figures['seconds']:>8} {figures['peak_rss_mb']:>12}")
    print(f"{'whole run':<40} {report['run_seconds']:>8} {report['run_peak_rss_mb']:>12}")
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    out = results / f"{report['when'].replace(':', '')}-{args.rows}.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
