"""Crash safety: ``kill -9`` at any moment of an ingest leaves a database that opens, and the next
ingest ends with exactly the totals of an uninterrupted run: nothing lost, nothing twice."""

from __future__ import annotations

import contextlib
import difflib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import SAMPLE_END_MONTH, export_tables, run_cli

TABLES = ("messages", "leads", "quarantine", "forward-events", "coverage")
COUNTS = ("stored_messages", "raw_messages", "lead_details", "sightings", "quarantine_items",
          "log_events", "distribution_log", "ingested_files", "attribution")
# moments of the kill, as fractions of the uninterrupted run's wall time: while the first files
# are read, in the middle of the mbox batches, near the end (attribution and coverage)
KILL_AT = (0.15, 0.35, 0.55, 0.75, 0.9)


def ingest_command(root: Path) -> list[str]:
    return [sys.executable, "-m", "emailtrack_analytics", "--workspace", str(root), "ingest",
            str(root / "data" / "sample"), "--workers", "2"]


def totals(root: Path) -> dict[str, int]:
    con = duckdb.connect(str(root / "data" / "emailtrack.duckdb"), read_only=True)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in COUNTS}
    finally:
        con.close()


def assert_same_exports(got: dict[str, str], expected: dict[str, str]) -> None:
    for table in TABLES:
        if got[table] != expected[table]:
            diff = difflib.unified_diff(expected[table].splitlines(), got[table].splitlines(),
                                        "uninterrupted", "after the kill", lineterm="", n=0)
            raise AssertionError(f"export {table} differs:\n" + "\n".join(list(diff)[:20]))


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A generated sample workspace, not yet ingested, copied for every run."""
    root = tmp_path_factory.mktemp("crash") / "template"
    result = run_cli("init", root, "--sample", "--end-month", SAMPLE_END_MONTH, "--scale", "0.2")
    assert result.code == 0, result.err
    return root


@pytest.fixture(scope="module")
def uninterrupted(template, tmp_path_factory):
    """The uninterrupted ingest: its totals, exports, and how long it works once its database
    exists (kills are timed from then: the start-up before it is no test of crash safety)."""
    root = tmp_path_factory.mktemp("crash") / "whole"
    shutil.copytree(template, root)
    process = subprocess.Popen(ingest_command(root), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    started = _database_created(process, root)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err.decode()
    return root, time.monotonic() - started, totals(root), export_tables(root, TABLES)


def _database_created(process: subprocess.Popen, root: Path) -> float:
    """The time at which the ingest ``process`` created its database file."""
    database = root / "data" / "emailtrack.duckdb"
    deadline = time.monotonic() + 60
    while not database.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    return time.monotonic()


@pytest.mark.parametrize("fraction", KILL_AT)
def test_kill_9_then_ingest_again_gives_the_uninterrupted_totals(template, uninterrupted, tmp_path, fraction):
    _, seconds, expected_totals, expected_exports = uninterrupted
    root = tmp_path / "ws"
    # on a busy machine the timed run may have been slow: a run that ends before its kill is
    # done again with an earlier kill
    for attempt in range(4):
        shutil.rmtree(root, ignore_errors=True)
        shutil.copytree(template, root)
        process = subprocess.Popen(ingest_command(root), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _database_created(process, root)
        time.sleep(seconds * fraction * 0.7 ** attempt)
        interrupted = process.poll() is None
        workers = _workers_of(process.pid)
        process.send_signal(signal.SIGKILL)
        process.wait()
        if interrupted:
            break
    assert interrupted, f"the ingest ended before {fraction:.0%} of its usual time, four times"
    assert _gone(workers), "parser workers outlived the killed ingest"

    partial = totals(root)  # the database opens after the kill
    assert partial["stored_messages"] <= expected_totals["stored_messages"]

    result = run_cli("--workspace", root, "ingest", root / "data" / "sample", "--workers", "2")
    assert result.code == 0, result.err
    assert totals(root) == expected_totals
    assert_same_exports(export_tables(root, TABLES), expected_exports)
    print(f"killed at {fraction:.0%}: {partial['stored_messages']} of {expected_totals['stored_messages']} "
          f"copies and {partial['ingested_files']} of {expected_totals['ingested_files']} files committed")


def test_kill_9_twice_in_a_row(template, uninterrupted, tmp_path):
    _, seconds, expected_totals, _ = uninterrupted
    root = tmp_path / "ws"
    shutil.copytree(template, root)
    for fraction in (0.3, 0.5):
        process = subprocess.Popen(ingest_command(root), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _database_created(process, root)
        time.sleep(seconds * fraction)
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert run_cli("--workspace", root, "ingest", root / "data" / "sample").code == 0
    assert totals(root) == expected_totals


def _workers_of(pid: int) -> list[int]:
    """The parser worker processes of the ingest ``pid`` (spawned: their command runs spawn_main)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        children = (task / "children").read_text().split() if (task / "children").exists() else []
        for child in children:
            try:
                command = Path(f"/proc/{child}/cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in command:
                found.append(int(child))
    return found


def _gone(pids: list[int], wait: float = 10.0) -> bool:
    """Whether all ``pids`` have exited (they notice their parent's death within a second)."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        alive = [p for p in pids if Path(f"/proc/{p}").exists()
                 and Path(f"/proc/{p}/stat").read_text().split(")")[-1].split()[0] != "Z"]
        if not alive:
            return True
        time.sleep(0.2)
    return False


def test_a_parser_worker_killed_mid_ingest_loses_nothing(template, uninterrupted, tmp_path):
    """A worker killed by the system (out of memory) while a chunk is in flight: the ingest goes
    on, parses that chunk again, and ends with the uninterrupted totals and nothing quarantined
    as ``parser_crashed`` (the messages themselves were fine)."""
    _, _, expected_totals, expected_exports = uninterrupted
    root = tmp_path / "ws"
    shutil.copytree(template, root)
    process = subprocess.Popen(ingest_command(root), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    killed = []
    deadline = time.monotonic() + 120
    while process.poll() is None and len(killed) < 2 and time.monotonic() < deadline:
        workers = [w for w in _workers_of(process.pid) if w not in killed]
        if workers:
            time.sleep(0.5 if not killed else 1.5)  # let it take a chunk (the second: a new pool)
            for worker in workers[:1]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker, signal.SIGKILL)
                killed.append(worker)
        time.sleep(0.05)
    _, err = process.communicate(timeout=300)
    assert killed, "the ingest never started a parser worker"
    assert process.returncode == 0, err.decode()
    assert totals(root) == expected_totals
    assert_same_exports(export_tables(root, TABLES), expected_exports)
    assert "parser_crashed" not in export_tables(root, ("quarantine",))["quarantine"]
    print(f"killed {len(killed)} parser workers")
