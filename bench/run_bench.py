"""Benchmark: the whole pipeline (`coprod run`) on a national-shaped workload, side by side with
one plain DuckDB statement computing the same cells from the same files (bench/reference.sql).

    python bench/run_bench.py                    # F, 100k (599 small files), 1M, add 5,000, no-op
    python bench/run_bench.py --sizes 100k       # F and 100k only (add 5,000 to it)
    python bench/run_bench.py --sizes 100k 1M 10M  # also 10M responses in 6,000 files (opt-in)

Each figure is a fresh `coprod run` in its own process, timed by wall clock, with the peak
resident memory of that process and all its children together (dbt runs in its own process),
sampled every 50 ms; per-step times come from Dagster's event log. Everything runs in a
temporary folder; nothing in the repository's data/ is touched. Results are printed as a table
and written to bench/results/<time>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from national_workload import export_frame, qualtrics_csv, write_workload  # noqa: E402

REFERENCE_SQL = Path(__file__).with_name("reference.sql")
# responses, organisations, files per organisation and wave (three waves)
SIZES = {
    "100k": (100_000, 200, 1),
    "1M": (1_000_000, 200, 1),
    "10M": (10_000_000, 1000, 2),
}


class PeakMemory:
    """Samples the resident memory of a process and all its descendants every 50 ms."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self.peak_at = pid, 0, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def tree_rss(pid: int) -> int:
        total, stack = 0, [pid]
        while stack:
            current = stack.pop()
            try:
                status = Path(f"/proc/{current}/status").read_text()
                rss = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
                total += int(rss.split()[1]) * 1024
                for task in Path(f"/proc/{current}/task").iterdir():
                    stack += [int(c) for c in (task / "children").read_text().split()]
            except (OSError, StopIteration, ValueError):
                continue
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = self.tree_rss(self.pid)
            if rss > self.peak:
                self.peak, self.peak_at = rss, time.time()
            time.sleep(0.05)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Measured:
    seconds: float
    peak_mb: int
    steps: dict[str, float] = field(default_factory=dict)
    peak_during: str = ""  # the step running when memory peaked
    peak_at: float = field(default=0.0, repr=False)


def measure(command: list[str], env: dict[str, str]) -> tuple[Measured, str]:
    started = time.monotonic()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    with PeakMemory(process.pid) as memory:
        output, _ = process.communicate()
    elapsed = time.monotonic() - started
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{output[-3000:]}")
    return Measured(round(elapsed, 2), round(memory.peak / 1e6), peak_at=memory.peak_at), output


def step_times(dagster_home: Path) -> dict[str, tuple[float, float]]:
    """Start and end (epoch seconds) of each step of the newest run in this Dagster home."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(dagster_home)  # this process reads the run's events
    with dg.DagsterInstance.get() as instance:
        run = instance.get_runs(limit=1)[0]
        starts, steps = {}, {}
        for record in instance.all_logs(run.run_id):
            event = record.dagster_event
            if event is None or event.step_key is None:
                continue
            if event.event_type_value == "STEP_START":
                starts[event.step_key] = record.timestamp
            elif event.event_type_value in {"STEP_SUCCESS", "STEP_FAILURE"}:
                steps[event.step_key] = (starts[event.step_key], record.timestamp)
    return steps


class Workspace:
    """A data folder of its own, run with `coprod run` as an operator would."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "dagster_home").mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "COPROD_DATA_DIR": str(root),
            "COPROD_INBOX": str(root / "inbox"),
            "COPROD_REGISTRY": str(root / "sources.yml"),
            "COPROD_WAREHOUSE": str(root / "warehouse.duckdb"),
            "DAGSTER_HOME": str(root / "dagster_home"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }

    def run(self) -> Measured:
        measured, _ = measure([sys.executable, "-m", "pipelines.cli", "run"], self.env)
        times = step_times(self.root / "dagster_home")
        measured.steps = {step: round(end - start, 2) for step, (start, end) in times.items()}
        measured.peak_during = next(
            (step for step, (start, end) in times.items() if start <= measured.peak_at <= end),
            "start-up or wind-down",
        )
        return measured

    def nothing_new(self) -> Measured:
        measured, output = measure([sys.executable, "-m", "pipelines.cli", "run"], self.env)
        assert "Nothing new" in output, output[-2000:]
        return measured


def reference(inbox: Path) -> Measured:
    sql = REFERENCE_SQL.read_text().replace("{inbox}", str(inbox))
    script = (
        "import duckdb, sys; con = duckdb.connect();"
        " con.execute('set enable_progress_bar = false');"
        " print(len(con.sql(sys.stdin.read()).fetchall()))"
    )
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    with PeakMemory(process.pid) as memory:
        output, _ = process.communicate(sql)
    assert process.returncode == 0 and int(output) > 0
    return Measured(round(time.monotonic() - started, 2), round(memory.peak / 1e6))


def add_export(workspace: Workspace, responses: int, part: int = 99) -> None:
    """One more export for an organisation already in the history (a late file for its wave)."""
    registry = yaml.safe_load((workspace.root / "sources.yml").read_text())
    organisation = registry["organisations"][0]
    services = [s["name"] for s in organisation["services"]]
    name = f"{organisation['id']}_2026_{part:02d}_qualtrics.csv"
    frame = export_frame(responses, seed=424242 + part, wave=2026, services=services)
    (workspace.root / "inbox" / name).write_text(qualtrics_csv(frame), encoding="utf-8")
    registry["exports"].append(
        {
            "file": name,
            "organisation": organisation["id"],
            "wave": 2026,
            "tool": "qualtrics",
            "instrument": "qualtrics_coprod_v1",
        }
    )
    (workspace.root / "sources.yml").write_text(yaml.safe_dump(registry, sort_keys=False))


def scenario(
    folder: Path, name: str, responses: int, organisations: int, per_partition: int, **options
):
    workspace = Workspace(folder / name)
    workload = write_workload(workspace.root, responses, organisations, per_partition, **options)
    print(f"{name}: {workload.responses:,} responses in {workload.files} files", flush=True)
    return workspace, workload


def _public(measured: Measured) -> dict:
    return {k: v for k, v in asdict(measured).items() if k != "peak_at" and v not in ("", {})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", nargs="+", choices=list(SIZES), default=["100k", "1M"], help="fresh runs"
    )
    args = parser.parse_args()
    figures: dict[str, dict] = {}

    def record(name: str, measured: Measured, ref: Measured | None = None, **extra) -> None:
        figures[name] = {**_public(measured), **extra}
        if ref is not None:
            figures[name]["reference"] = _public(ref)
            figures[name]["ratio_to_reference"] = round(measured.seconds / ref.seconds, 1)
        print(f"  {name}: {json.dumps(figures[name])}", flush=True)

    with tempfile.TemporaryDirectory(prefix="coprod-bench-") as tmp:
        folder = Path(tmp)
        first, _ = scenario(folder, "first_export", 100, 1, 1, waves=(2026,))
        f = first.run()
        record("F_one_new_export_empty_history", f)
        record("nothing_new", first.nothing_new())

        for name in args.sizes:
            responses, organisations, per_partition = SIZES[name]
            workspace, workload = scenario(folder, name, responses, organisations, per_partition)
            ref = reference(workspace.root / "inbox")
            run = workspace.run()
            record(
                f"fresh_{name}",
                run,
                ref,
                files=workload.files,
                input_mb=round(workload.bytes / 1e6, 1),
                marginal_seconds=round(run.seconds - f.seconds, 2),
                marginal_to_3x_reference=round((run.seconds - f.seconds) / (3 * ref.seconds), 2),
            )
            if name == args.sizes[-1] or name == "1M":  # the largest history, and 1M
                add_export(workspace, 5_000)
                record(f"add_5000_to_{name}", workspace.run())
                record(f"nothing_new_{name}", workspace.nothing_new())
            shutil.rmtree(workspace.root)  # keep the disk free for the next size

    report = {"when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **figures}
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    out = results / f"{report['when'].replace(':', '')}.json"
    out.write_text(json.dumps(report, indent=2))
    print(
        f"\n{'figure':<34} {'seconds':>8} {'peak MB':>8} {'reference s':>12} {'ratio':>6}"
        "  peak during"
    )
    for name, figure in figures.items():
        ref = figure.get("reference", {}).get("seconds", "")
        ratio = figure.get("ratio_to_reference", "")
        print(
            f"{name:<34} {figure['seconds']:>8} {figure['peak_mb']:>8} {ref:>12} {ratio:>6}"
            f"  {figure.get('peak_during', '')}"
        )
    print(f"written to {out}")


if __name__ == "__main__":
    main()
