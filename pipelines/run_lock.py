"""One writer at a time on a warehouse, whoever starts the run: `coprod run`, the nightly
schedule, the inbox sensor or a click in the Dagster UI.

An exclusive flock on <data>/.coprod-run.lock, held for the whole run. Re-entrant within a
process, because `coprod run` holds it while deciding whether anything is new and then runs the
job in the same process, whose resource asks for it again.
"""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

_held: dict[Path, tuple[IO, int]] = {}
_guard = threading.Lock()


@contextmanager
def warehouse_lock(data_dir: Path, on_wait=None) -> Iterator[None]:
    path = (data_dir / ".coprod-run.lock").resolve()
    with _guard:
        if path in _held:
            handle, depth = _held[path]
            _held[path] = (handle, depth + 1)
            acquired = False
        else:
            acquired = True
    if acquired:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "w")  # noqa: SIM115 (held across the yield)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait:
                on_wait()
            fcntl.flock(handle, fcntl.LOCK_EX)
        with _guard:
            _held[path] = (handle, 1)
    try:
        yield
    finally:
        with _guard:
            handle, depth = _held[path]
            if depth > 1:
                _held[path] = (handle, depth - 1)
            else:
                del _held[path]
                fcntl.flock(handle, fcntl.LOCK_UN)
                handle.close()
