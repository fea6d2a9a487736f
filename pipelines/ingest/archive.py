"""Every arriving file is kept, once, by content hash, before anything else happens to it.

Only regular files that live in the inbox are ever opened. A symbolic link, a device, a pipe or
a file with other hard links (which may be a file from elsewhere on the machine) is held with a
reason and never opened. A file is read from one snapshot: it is copied once into the archive
while being hashed, and only that copy is read afterwards; a file that changed while it was being
copied is held until it stops changing. Archive and quarantine copies are readable by their
owner only (files 0600, folders 0700): they hold people's answers.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from pipelines.file_state import KnownHash

FILE_MODE, FOLDER_MODE = 0o600, 0o700
_BLOCK_BYTES = 1 << 20
# Opening never follows a link and never waits on a pipe; what was opened is checked again.
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


class NotARegularFile(OSError):
    """The path stopped being a regular file between listing and opening it."""


@dataclass(frozen=True)
class ArrivedFile:
    path: Path
    sha256: str
    size: int
    mtime_ns: int = 0
    # Why the file was not opened (not a regular file of the inbox); None for files to read.
    refused: str | None = None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open_regular(path) as handle:
        for block in iter(lambda: handle.read(_BLOCK_BYTES), b""):
            digest.update(block)
    return digest.hexdigest()


def open_regular(path: Path):
    """Open for reading only if it is a regular file with no other name (checked on the open
    file itself, so a file swapped for a link after listing is never read)."""
    try:
        descriptor = os.open(path, _OPEN_FLAGS)
    except OSError as error:  # ELOOP: it became a symbolic link
        raise NotARegularFile(str(path)) from error
    info = os.fstat(descriptor)
    if not stat.S_ISREG(info.st_mode) or info.st_nlink > 1:
        os.close(descriptor)
        raise NotARegularFile(str(path))
    return os.fdopen(descriptor, "rb")


def refusal(info: os.stat_result) -> str | None:
    """Why an inbox entry must not be opened, or None for an ordinary file."""
    if stat.S_ISLNK(info.st_mode):
        return (
            "It is a symbolic link, not a file: links are never followed. Copy the export "
            "itself into the inbox."
        )
    if not stat.S_ISREG(info.st_mode):
        return "It is not a regular file (a device, pipe or socket): only export files are read."
    if info.st_nlink > 1:
        return (
            f"It has {info.st_nlink} names on this disk (hard links), so it may be a file from "
            "outside the inbox: only files copied into the inbox are read. Copy it in instead "
            "of linking it."
        )
    return None


def unopened_key(path: Path) -> str:
    """A stable key for an entry that is never opened (its content hash cannot be taken)."""
    return hashlib.sha256(b"not opened:" + os.fsencode(path)).hexdigest()


def arrived_files(
    inbox_dirs: tuple[Path, ...], known: dict[str, KnownHash] | None = None
) -> list[ArrivedFile]:
    """Everything waiting in the inbox folders, in a stable order (notes, hidden files and
    sub-folders skipped). A file whose size and modification time match `known` is not read
    again: its sha256 is taken from there, so history costs nothing to look at. Entries that
    must not be opened come back with `refused` set and are never read."""
    found = []
    known = known or {}
    for folder in inbox_dirs:
        if not folder.is_dir():
            continue
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if entry.name.startswith(".") or entry.name.lower().endswith(".md"):
                continue
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISDIR(info.st_mode):
                continue
            path = Path(entry.path)
            reason = refusal(info)
            if reason is None:
                cached = known.get(entry.path)
                if cached and (cached.size, cached.mtime_ns) == (info.st_size, info.st_mtime_ns):
                    sha = cached.sha256
                else:
                    try:
                        sha = sha256_of(path)
                    except NotARegularFile:
                        reason = refusal(os.stat(path, follow_symlinks=False))
            if reason is not None:
                found.append(ArrivedFile(path, unopened_key(path), 0, 0, refused=reason))
                continue
            found.append(ArrivedFile(path, sha, info.st_size, info.st_mtime_ns))
    return found


def hashes_of(arrived: list[ArrivedFile]) -> dict[str, KnownHash]:
    return {str(a.path): KnownHash(a.size, a.mtime_ns, a.sha256) for a in arrived if not a.refused}


def private_folder(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(FOLDER_MODE)
    return folder


def _write_private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    path.chmod(FILE_MODE)


def archive(file: ArrivedFile, archive_dir: Path) -> Path | None:
    """The archived copy of `file`, made now if those bytes are not archived yet.

    The copy is written under a temporary name while it is hashed, and renamed to its sha256
    only if it is the file that was listed and the file did not change while being copied;
    otherwise nothing is kept and None says "still changing". The archive never holds half a
    file or a copy whose bytes differ from its name."""
    target = archive_dir / file.sha256[:2] / f"{file.sha256}{file.path.suffix.lower()}"
    if target.exists():
        return target
    private_folder(archive_dir)
    private_folder(target.parent)
    partial = target.parent / f".incoming-{secrets.token_hex(8)}"
    digest = hashlib.sha256()
    try:
        with open_regular(file.path) as source:
            before = os.fstat(source.fileno())
            descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
            with os.fdopen(descriptor, "wb") as copy:
                for block in iter(lambda: source.read(_BLOCK_BYTES), b""):
                    digest.update(block)
                    copy.write(block)
            after = os.fstat(source.fileno())
    except (NotARegularFile, FileNotFoundError):
        partial.unlink(missing_ok=True)
        return None
    unchanged = (before.st_size, before.st_mtime_ns) == (after.st_size, after.st_mtime_ns)
    if not unchanged or digest.hexdigest() != file.sha256:
        partial.unlink(missing_ok=True)
        return None
    partial.replace(target)  # atomic: a name in the archive always means these exact bytes
    _write_private(
        target.with_suffix(".json"),
        json.dumps(
            {"original_name": file.path.name, "size": file.size, "sha256": file.sha256}, indent=2
        ).encode(),
    )
    return target


def quarantine(file: ArrivedFile, archived: Path, quarantine_dir: Path, reason: str) -> Path:
    """Keep a copy (of the archived snapshot, never the inbox file again) beside a plain-text
    note of why it was not ingested."""
    private_folder(quarantine_dir)
    target = quarantine_dir / f"{file.sha256[:12]}__{_safe_name(file.path.name)}"
    if not target.exists():
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        with archived.open("rb") as source, os.fdopen(descriptor, "wb") as copy:
            shutil.copyfileobj(source, copy, _BLOCK_BYTES)
    _write_private(target.with_name(target.name + ".reason.txt"), (reason + "\n").encode())
    return target


def _safe_name(name: str) -> str:
    """A file name with control characters (a newline, say) replaced, for the quarantine."""
    return "".join(c if c.isprintable() else "_" for c in name)
