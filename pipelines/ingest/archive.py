"""Every arriving file is kept, once, by content hash, before anything else happens to it."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from pipelines.file_state import KnownHash


@dataclass(frozen=True)
class ArrivedFile:
    path: Path
    sha256: str
    size: int
    mtime_ns: int = 0


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def arrived_files(
    inbox_dirs: tuple[Path, ...], known: dict[str, KnownHash] | None = None
) -> list[ArrivedFile]:
    """Regular files waiting in the inbox folders, in a stable order (notes, hidden files and
    symbolic links skipped). A file whose size and modification time match `known` is not read
    again: its sha256 is taken from there, so history costs nothing to look at."""
    found = []
    known = known or {}
    for folder in inbox_dirs:
        if not folder.is_dir():
            continue
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if (
                not entry.is_file(follow_symlinks=False)
                or entry.name.startswith(".")
                or entry.name.lower().endswith(".md")
            ):
                continue
            stat = entry.stat(follow_symlinks=False)
            cached = known.get(entry.path)
            if cached and (cached.size, cached.mtime_ns) == (stat.st_size, stat.st_mtime_ns):
                sha = cached.sha256
            else:
                sha = sha256_of(Path(entry.path))
            found.append(ArrivedFile(Path(entry.path), sha, stat.st_size, stat.st_mtime_ns))
    return found


def hashes_of(arrived: list[ArrivedFile]) -> dict[str, KnownHash]:
    return {str(a.path): KnownHash(a.size, a.mtime_ns, a.sha256) for a in arrived}


def archive(file: ArrivedFile, archive_dir: Path) -> Path:
    """Copy into the archive under its hash (a no-op when those bytes are already there)."""
    target = archive_dir / file.sha256[:2] / f"{file.sha256}{file.path.suffix.lower()}"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(target.suffix + ".partial")
        shutil.copyfile(file.path, partial)
        partial.replace(target)  # atomic: the archive never holds half a file
        target.with_suffix(".json").write_text(
            json.dumps(
                {"original_name": file.path.name, "size": file.size, "sha256": file.sha256},
                indent=2,
            )
        )
    return target


def quarantine(file: ArrivedFile, quarantine_dir: Path, reason: str) -> Path:
    """Keep a copy beside a plain-text note of why it was not ingested."""
    quarantine_dir.mkdir(parents=True, exist_ok=True)
    target = quarantine_dir / f"{file.sha256[:12]}__{file.path.name}"
    if not target.exists():
        shutil.copyfile(file.path, target)
    target.with_name(target.name + ".reason.txt").write_text(reason + "\n", encoding="utf-8")
    return target
