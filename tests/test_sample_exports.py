"""The bundled samples are what the committed generator writes, byte for byte."""

from __future__ import annotations

from tests.conftest import SAMPLES
from tests.sample_exports import write_samples


def test_regenerating_the_samples_reproduces_the_committed_files(tmp_path):
    written = write_samples(tmp_path)
    assert sorted(p.name for p in written) == sorted(p.name for p in SAMPLES.iterdir())
    for path in written:
        assert path.read_bytes() == (SAMPLES / path.name).read_bytes(), path.name
    assert sum(p.stat().st_size for p in written) < 2_000_000
