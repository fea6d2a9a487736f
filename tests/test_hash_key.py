"""A warehouse remembers the hash key it was built with: a run with another key stops before
reading anything (respondent keys would silently stop matching earlier waves), and
`coprod run --rotate-key` re-keys every file deliberately. The key itself is stored nowhere."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pipelines.hash_key import key_fingerprint
from tests.conftest import Workspace, copy_samples, open_workspace

KEY_A = "coprod-test-key-A-7d41c9e2b8"
KEY_B = "coprod-test-key-B-30fa6e15c4"


def coprod_run(key: str, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "run", *options],
        env={**os.environ, "COPROD_HASH_KEY": key},
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def built_with_key_a(tmp_path_factory, module_monkeypatch) -> Workspace:
    workspace = copy_samples(
        open_workspace(tmp_path_factory.mktemp("hash_key") / "data", module_monkeypatch)
    )
    run = coprod_run(KEY_A)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    return workspace


def stored_fingerprint(workspace: Workspace) -> str:
    return workspace.query("select fingerprint from ingest.hash_key")["fingerprint"].to_list()[0]


def warehouse_state(workspace: Workspace) -> tuple:
    return (
        workspace.warehouse.read_bytes(),
        workspace.query("select * from ingest.files order by file_sha256").rows(),
        workspace.query("select * from ingest.inbox_index order by path").rows(),
        workspace.published_files(),
    )


def test_a_run_with_another_key_stops_before_reading_anything(built_with_key_a, monkeypatch):
    workspace = built_with_key_a
    assert stored_fingerprint(workspace) == key_fingerprint(KEY_A.encode())
    before = warehouse_state(workspace)
    refused = (
        "COPROD_HASH_KEY differs from the key this warehouse was built with (fingerprint "
        f"{key_fingerprint(KEY_A.encode())[:8]}…): respondent keys would not match earlier "
        "waves. Set the original key, or run `coprod run --rotate-key` to re-key every file "
        "deliberately."
    )

    run = coprod_run(KEY_B)
    assert run.returncode == 2, run.stdout[-2000:] + run.stderr[-2000:]
    assert f"Configuration error: {refused}" in run.stderr.splitlines()
    assert warehouse_state(workspace) == before

    # A run the CLI did not start (the schedule, the sensor, the UI) stops in ingest, at once.
    monkeypatch.setenv("COPROD_HASH_KEY", KEY_B)
    result = workspace.run()
    assert not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    (failure,) = [
        e
        for e in result.all_events
        if e.event_type_value == "STEP_FAILURE" and e.step_key == "ingest__survey_exports"
    ]
    assert refused in failure.step_failure_data.user_failure_data.description
    assert warehouse_state(workspace)[1:] == before[1:]  # the registry tables are rewritten


def test_rotate_key_rekeys_every_file_and_stores_no_key(built_with_key_a):
    workspace = built_with_key_a
    keys = "select response_key, respondent_key from ingest.responses"
    before = workspace.query(keys)
    ingested = workspace.query("select count(*) as n from ingest.current_files")["n"][0]

    run = coprod_run(KEY_B, "--rotate-key")
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert f"Re-keyed {ingested} file(s) with COPROD_HASH_KEY (fingerprint " in run.stdout
    assert stored_fingerprint(workspace) == key_fingerprint(KEY_B.encode())
    after = workspace.query(keys)
    assert after.height == before.height
    for column in ("response_key", "respondent_key"):
        assert not set(before[column].drop_nulls()) & set(after[column].drop_nulls())

    for path in workspace.root.parent.rglob("*"):  # the data folder and the Dagster home
        if path.is_file():
            content = path.read_bytes()
            assert KEY_A.encode() not in content and KEY_B.encode() not in content, path
