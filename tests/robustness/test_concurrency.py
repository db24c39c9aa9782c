"""Concurrency: an analyst's open notebook never blocks the scheduled ingest or report, a notebook
query during an ingest waits for it, and a second ingest exits 2 at once with a clear message.

Both orders run for real: a Jupyter kernel (the analyst's notebook) holding an ``Analytics``
object, and ``emailtrack ingest`` in its own process.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_END_MONTH, run_cli


@pytest.fixture
def small_sample(tmp_path) -> Path:
    """A sample workspace, generated but not ingested, and the folder of its data."""
    root = tmp_path / "ws"
    result = run_cli("init", root, "--sample", "--end-month", SAMPLE_END_MONTH, "--scale", "0.15")
    assert result.code == 0, result.err
    return root


def start_ingest(root: Path, *paths: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "emailtrack_analytics", "--workspace", str(root), "ingest",
               *(str(p) for p in paths), "--workers", "1"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_until_writing(root: Path, process: subprocess.Popen) -> None:
    """Until the ingest holds the workspace's write lock (it writes its name in the lock file)."""
    lock = root / "data" / ".emailtrack-write.lock"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if lock.exists() and "emailtrack ingest" in lock.read_text():
            return
        assert process.poll() is None, process.communicate()
        time.sleep(0.01)
    raise AssertionError("the ingest never started writing")


class Notebook:
    """A real IPython kernel, as an analyst's notebook would have it open."""

    def __init__(self):
        from jupyter_client.manager import start_new_kernel
        self.manager, self.client = start_new_kernel(kernel_name="python3")

    def run(self, code: str) -> str:
        out: list[str] = []

        def collect(message):
            content = message["content"]
            if message["msg_type"] == "stream":
                out.append(content["text"])
            elif message["msg_type"] == "error":
                out.append(f"{content['ename']}: {content['evalue']}")

        reply = self.client.execute_interactive(code, output_hook=collect, timeout=120)
        assert reply["content"]["status"] == "ok", "".join(out)
        return "".join(out)

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


@pytest.fixture
def notebook():
    kernel = Notebook()
    yield kernel
    kernel.close()


def test_open_notebook_does_not_block_ingest_or_report(small_sample, notebook, monkeypatch):
    data = small_sample / "data" / "sample"
    first, rest = data / "tracking", [p for p in sorted(data.iterdir()) if p.name != "tracking"]
    assert run_cli("--workspace", small_sample, "ingest", first).code == 0
    before = notebook.run(f"from emailtrack_analytics.api import Analytics\n"
                          f"data = Analytics({str(small_sample)!r})\n"
                          "print(len(data.leads()))")
    # the notebook stays open with its Analytics object; the writers must not wait for it
    monkeypatch.setenv("EMAILTRACK_LOCK_WAIT", "0")
    result = run_cli("--workspace", small_sample, "ingest", *rest)
    assert result.code == 0, result.err
    report = run_cli("--workspace", small_sample, "report", "monthly", "--month", SAMPLE_END_MONTH)
    assert report.code == 0, report.err
    # and the notebook sees what was ingested meanwhile, on its next query
    after = notebook.run("print(len(data.leads()), data.sql('SELECT count(*) AS n FROM log_events')['n'][0])")
    leads_after, log_rows = map(int, after.split())
    assert leads_after >= int(before) and log_rows > 0


def test_notebook_query_during_ingest_waits_for_it(small_sample, notebook):
    ingest = start_ingest(small_sample, small_sample / "data" / "sample")
    try:
        wait_until_writing(small_sample, ingest)
        assert ingest.poll() is None  # the query below starts while the ingest writes
        out = notebook.run(f"from emailtrack_analytics.api import Analytics\n"
                           f"data = Analytics({str(small_sample)!r}, refresh=False)\n"
                           "print(data.sql('SELECT count(*) AS n FROM stored_messages')['n'][0])")
        stdout, stderr = ingest.communicate(timeout=120)
    finally:
        ingest.kill()
    assert ingest.returncode == 0, stderr
    # it waited: it saw everything the ingest stored, not an error and not half of it
    assert int(out) == int(stdout.split(" new")[0])


def test_query_gives_up_with_a_clear_message_after_the_wait(small_sample, monkeypatch):
    ingest = start_ingest(small_sample, small_sample / "data" / "sample")
    try:
        wait_until_writing(small_sample, ingest)
        for _ in range(500):  # the ingest opens the database just after taking its lock
            if (small_sample / "data" / "emailtrack.duckdb.wal").exists() or ingest.poll() is not None:
                break
            time.sleep(0.01)
        monkeypatch.setenv("EMAILTRACK_LOCK_WAIT", "0.2")
        result = run_cli("--workspace", small_sample, "status")
        still_running = ingest.poll() is None
    finally:
        ingest.communicate(timeout=120)
    if not still_running:
        pytest.fail("the ingest ended before the check; make the sample larger")
    assert result.code == 2
    assert f"is in use by another process (process {ingest.pid})" in result.err
    assert result.err.count("\n") == 1


def test_second_ingest_exits_2_naming_the_first(small_sample):
    first = start_ingest(small_sample, small_sample / "data" / "sample")
    try:
        wait_until_writing(small_sample, first)
        second = subprocess.run(
            [sys.executable, "-m", "emailtrack_analytics", "--workspace", str(small_sample), "ingest",
             str(small_sample / "data" / "sample")], capture_output=True, text=True, timeout=60)
        first_running = first.poll() is None
        stdout, stderr = first.communicate(timeout=120)
    finally:
        first.kill()
    assert first_running
    assert second.returncode == 2
    assert second.stderr.startswith(f"emailtrack: error: emailtrack ingest (pid {first.pid}, started ")
    assert "is writing to this workspace; try again when it has finished" in second.stderr
    assert first.returncode == 0, stderr
    # the second one wrote nothing: the first one's totals are the whole sample, and re-running adds 0
    again = run_cli("--workspace", small_sample, "ingest", small_sample / "data" / "sample")
    assert again.out.startswith("0 new, ")


def test_a_killed_ingest_does_not_leave_the_workspace_locked(small_sample):
    first = start_ingest(small_sample, small_sample / "data" / "sample")
    wait_until_writing(small_sample, first)
    first.kill()  # SIGKILL: no clean-up code runs
    first.communicate()
    result = run_cli("--workspace", small_sample, "ingest", small_sample / "data" / "sample")
    assert result.code == 0, result.err


def test_analytics_reads_read_only_and_refreshes_only_when_results_lag(small_sample, monkeypatch):
    """The analysts' API opened a write connection, migrated and refreshed every time it was
    created: another reader holding the file (a second notebook) made it wait. It asks read-only
    whether anything lags behind, and writes only then."""
    from emailtrack_analytics.api import Analytics
    from emailtrack_analytics.errors import Busy
    assert run_cli("--workspace", small_sample, "ingest", small_sample / "data" / "sample").code == 0
    database = small_sample / "data" / "emailtrack.duckdb"
    reader = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; "
                               f"c = duckdb.connect({str(database)!r}, read_only=True); print('open', flush=True); "
                               "sys.stdin.read()"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "open"
        monkeypatch.setenv("EMAILTRACK_LOCK_WAIT", "0")
        data = Analytics(str(small_sample))          # nothing lags: read-only, beside the other reader
        assert not data.stale() and len(data.leads()) > 100
        config = small_sample / "emailtrack.toml"
        config.write_text(config.read_text() + '\n[[portals]]\nid = "pap"\nsubjects = ["^Contact PAP"]\n')
        assert Analytics(str(small_sample), refresh=False).stale()
        with pytest.raises(Busy):                     # lagging results: it must write, and waits
            Analytics(str(small_sample))
    finally:
        reader.communicate("", timeout=30)
    data = Analytics(str(small_sample))               # alone again: it refreshes
    assert not data.stale()
