"""Publishing marts for analysts: write aside, check, then swap into place in one step.

data/marts is a symbolic link to one complete publication folder under data/publications/.
A new publication is written to data/publications/.staging, checked, renamed to its id, and the
link is replaced atomically (rename of a new link over the old one). A reader therefore always
sees one whole publication, never a half-written or mixed one, and a failed or killed run
leaves the previous publication in place.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import yaml

from pipelines.settings import DBT_PROJECT_DIR, REPO_ROOT
from pipelines.warehouse import connect

PUBLISHED_MARTS = (
    "mart_measures",
    "mart_measure_changes",
    "mart_manager_frontline_gap",
    "mart_respondents",
)
STAGING_NAME = ".staging"
MANIFEST_NAME = "manifest.json"
KEEP_PUBLICATIONS = 5


@dataclass(frozen=True)
class StagedMart:
    name: str
    path: Path
    rows: int
    sha256: str


def staging_dir(publications_dir: Path) -> Path:
    return publications_dir / STAGING_NAME


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stage_marts(warehouse: Path, publications_dir: Path) -> list[StagedMart]:
    """Copy every published mart from the warehouse to Parquet in the staging folder."""
    with connect(warehouse, read_only=True) as con:
        return _stage(con, {mart: f"marts.{mart}" for mart in PUBLISHED_MARTS}, publications_dir)


def stage_parquet_marts(folders: dict[str, Path], publications_dir: Path) -> list[StagedMart]:
    """Stage marts another engine built (pipelines/portable_build.py), each a folder of Parquet
    files, exactly as the warehouse's are staged: same order, same encoding."""
    with duckdb.connect() as con:
        return _stage(
            con,
            {mart: f"read_parquet('{folders[mart]}/*.parquet')" for mart in PUBLISHED_MARTS},
            publications_dir,
        )


def _stage(
    con: duckdb.DuckDBPyConnection, relations: dict[str, str], publications_dir: Path
) -> list[StagedMart]:
    staging = staging_dir(publications_dir)
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for mart in PUBLISHED_MARTS:
        path = staging / f"{mart}.parquet"
        # ORDER BY ALL: the same rows always give the same bytes, so an unchanged
        # publication is recognised and not republished.
        con.execute(
            f"copy (select * from {relations[mart]} order by all) to '{path}' "
            "(format parquet, compression zstd)"
        )
    return read_staged(publications_dir)


def read_staged(publications_dir: Path) -> list[StagedMart]:
    """The marts waiting in the staging folder, with their row counts and content hashes."""
    import pyarrow.parquet as pq

    staging = staging_dir(publications_dir)
    return [
        StagedMart(
            mart,
            staging / f"{mart}.parquet",
            pq.ParquetFile(staging / f"{mart}.parquet").metadata.num_rows,
            _sha256(staging / f"{mart}.parquet"),
        )
        for mart in PUBLISHED_MARTS
    ]


def current_manifest(marts_link: Path) -> dict | None:
    manifest = marts_link / MANIFEST_NAME
    if not manifest.exists():
        return None
    return json.loads(manifest.read_text(encoding="utf-8"))


def git_commit() -> str:
    """The commit of this checkout, recorded in the manifest as the code that published it."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = "unknown"
    return commit


def new_publication_id(
    published_at: dt.datetime, staged: list[StagedMart], reports_basis: str = ""
) -> str:
    """When a publication was made, then a digest of what it publishes: the marts' rows and what
    its pages are drawn from (report.report_basis), not the pages themselves, which print it."""
    content = hashlib.sha256(
        "".join([*(m.sha256 for m in staged), reports_basis]).encode()
    ).hexdigest()
    return f"{published_at:%Y%m%dT%H%M%SZ}-{content[:8]}"


def promote(
    staged: list[StagedMart],
    publications_dir: Path,
    marts_link: Path,
    provenance: dict,
    now: dt.datetime | None = None,
    reports_basis: str = "",
) -> tuple[str, bool]:
    """Swap the staged marts into place. Returns (publication id, whether anything changed).
    `now` and `reports_basis` are those the staged pages were drawn with (report.py), so the
    id they print is the id made here."""
    previous = current_manifest(marts_link)
    staging = staging_dir(publications_dir)
    reports = {
        f"reports/{p.name}": _sha256(p) for p in sorted((staging / "reports").glob("*.html"))
    }
    if (
        previous
        and {m.name: m.sha256 for m in staged}
        == {
            name: entry.get("content_sha256", entry["sha256"])
            for name, entry in previous["marts"].items()
        }
        and reports == previous.get("reports")
    ):
        shutil.rmtree(staging, ignore_errors=True)
        return previous["publication_id"], False

    now = now or dt.datetime.now(dt.UTC)
    publication_id = new_publication_id(now, staged, reports_basis)
    documentation = mart_documentation()
    for mart in staged:
        stamp(mart.path, publication_id, now, documentation[mart.name])
    manifest = {
        "publication_id": publication_id,
        "published_at": now.isoformat(),
        "code_version": git_commit(),
        **provenance,
        "marts": {
            m.name: {
                "file": m.path.name,
                "rows": m.rows,
                "sha256": _sha256(m.path),  # the file as published, stamped
                "content_sha256": m.sha256,  # its rows, before stamping: tells an unchanged run
            }
            for m in staged
        },
        "reports": reports,
    }
    (staging / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, default=str))
    target = publications_dir / publication_id
    staging.rename(target)
    _point_link(marts_link, target)
    _prune(publications_dir, keep={target.name})
    return publication_id, True


def mart_documentation() -> dict[str, dict]:
    """Per mart, from its dbt documentation (models/marts/_marts__models.yml): what it holds, its
    grain (the columns its uniqueness test names) and every column's description."""
    document = yaml.safe_load((DBT_PROJECT_DIR / "models/marts/_marts__models.yml").read_text())
    described = {}
    for model in document["models"]:
        grain = [
            test["unique_combination"]["arguments"]["columns"]
            for test in model.get("data_tests", [])
            if isinstance(test, dict) and "unique_combination" in test
        ]
        described[model["name"]] = {
            "description": " ".join(model.get("description", "").split()),
            "grain": grain[0] if grain else [],
            "columns": {c["name"]: c.get("description", "") for c in model.get("columns", [])},
        }
    return described


def stamp(path: Path, publication_id: str, published_at: dt.datetime, documentation: dict) -> None:
    """Write the publication id, the grain and every column's description into the Parquet
    file's key-value metadata (and each column's own), where Power Query, polars and pyarrow
    users find them without this repository."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    columns = documentation["columns"]
    fields = [
        field.with_metadata({"description": columns.get(field.name, "")}) for field in table.schema
    ]
    metadata = {
        **(table.schema.metadata or {}),
        b"coprod.publication_id": publication_id.encode(),
        b"coprod.published_at": published_at.isoformat().encode(),
        b"coprod.description": documentation["description"].encode(),
        b"coprod.grain": json.dumps(documentation["grain"]).encode(),
        b"coprod.columns": json.dumps(columns).encode(),
    }
    stamped = table.cast(pa.schema(fields, metadata=metadata))
    partial = path.with_name(path.name + ".partial")
    pq.write_table(stamped, partial, compression="zstd")
    os.replace(partial, path)


def _point_link(marts_link: Path, target: Path) -> None:
    if marts_link.exists() and not marts_link.is_symlink():
        # A plain folder from an older layout: keep it, aside, rather than delete anything.
        marts_link.rename(target.parent / f"replaced-folder-{target.name}")
    temporary = marts_link.with_name(f".{marts_link.name}.next")
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(os.path.relpath(target, marts_link.parent))
    os.replace(temporary, marts_link)  # atomic on POSIX: readers see old or new, never neither


def _prune(publications_dir: Path, keep: set[str]) -> None:
    publications = sorted(
        p
        for p in publications_dir.iterdir()
        if p.is_dir() and not p.name.startswith(".") and p.name not in keep
    )
    for old in publications[: max(0, len(publications) - (KEEP_PUBLICATIONS - 1))]:
        shutil.rmtree(old, ignore_errors=True)
