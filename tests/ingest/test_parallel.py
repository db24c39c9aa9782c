"""The parallel ingest path stores exactly what one worker stores, on the sample and on the corpus."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from emailtrack_analytics.ingest.parsing.worker import Rejected
from emailtrack_analytics.ingest.pipeline import _Parser
from tests.builders import lead
from tests.conftest import export_tables, run_cli


def ingest_copy(tmp_path, name, config_from, inputs, workers) -> dict[str, str]:
    ws = tmp_path / name
    ws.mkdir(exist_ok=True)
    shutil.copy(config_from / "emailtrack.toml", ws / "emailtrack.toml")
    result = run_cli("--workspace", ws, "ingest", *inputs, "--workers", str(workers))
    assert result.code == 0, result.err
    return export_tables(ws)


def test_sample_exports_are_identical_with_one_and_two_workers(sample_workspace, tmp_path):
    # the same files at the same place in the workspace, so that sources read the same
    shutil.copytree(sample_workspace / "data" / "sample", tmp_path / "one" / "data" / "sample")
    one = ingest_copy(tmp_path, "one", sample_workspace, [tmp_path / "one" / "data" / "sample"], workers=1)
    two = export_tables(sample_workspace)
    assert one["messages"].count("\n") > 1000
    for table in one:
        assert one[table] == two[table], table


@pytest.mark.corpus
def test_corpus_exports_are_identical_with_one_and_two_workers(workspace_dir, corpus, tmp_path):
    inputs = [corpus / "eml", corpus / "mbox"]
    one = ingest_copy(tmp_path, "one", workspace_dir, inputs, workers=1)
    two = ingest_copy(tmp_path, "two", workspace_dir, inputs, workers=2)
    assert one["messages"].count("\n") > 500
    assert one["quarantine"].count("\n") > 10
    for table in one:
        assert one[table] == two[table], table


KILLER = b"this message makes its parser process die"


def parse_or_die(item):
    """A stand-in for the parser whose process dies (as under the out-of-memory killer) on one
    message: it must be importable by the spawned workers, hence at module level."""
    data, _ = item
    if KILLER in data:
        os._exit(137)
    return ("parsed", data.decode())


def test_a_message_that_kills_its_worker_is_quarantined_and_the_others_parsed():
    items = [(f"message {n}".encode(), None) for n in range(600)]
    items[250] = (KILLER, None)
    parser = _Parser(2, parse=parse_or_die)
    try:
        first = parser.submit(items[:300])
        second = parser.submit(items[300:])   # in flight on the same pool when it breaks
        results = first.get() + second.get()
        after = parser.map(items[300:600])    # the pool works again afterwards
    finally:
        parser.close()
    assert len(results) == 600
    assert isinstance(results[250], Rejected) and results[250].reason == "parser_crashed"
    assert [r for i, r in enumerate(results) if i != 250] == \
        [("parsed", f"message {n}") for n in range(600) if n != 250]
    assert after == [("parsed", f"message {n}") for n in range(300, 600)]
    assert parser.crashes >= 3  # the chunk's worker, then the message alone, twice


def parse_or_die_twice(item):
    """A stand-in for the parser whose process is killed from outside twice while it parses one
    good message: the count of deaths is kept in the file the message names."""
    data, _ = item
    if data.startswith(b"count:"):
        counter = data[len(b"count:"):].decode()
        deaths = int(open(counter).read() or 0) if os.path.exists(counter) else 0
        if deaths < 2:
            with open(counter, "w") as handle:
                handle.write(str(deaths + 1))
            os._exit(137)
    return ("parsed", data.decode())


def test_a_message_whose_worker_is_killed_once_alone_is_parsed_on_the_next_try(tmp_path):
    counter = tmp_path / "deaths"
    items = [(f"message {n}".encode(), None) for n in range(300)]
    items[120] = (f"count:{counter}".encode(), None)
    parser = _Parser(2, parse=parse_or_die_twice)
    try:
        results = parser.map(items)
    finally:
        parser.close()
    assert counter.read_text() == "2"  # killed in its chunk, then once alone
    assert results[120] == ("parsed", f"count:{counter}")
    assert [r for i, r in enumerate(results) if i != 120] == \
        [("parsed", f"message {n}") for n in range(300) if n != 120]


def test_parser_workers_import_no_database_library(tmp_path):
    # a worker process imports what the functions it runs live in, never DuckDB or the pipeline;
    # a shard's batch is built as Arrow, which imports pandas when it converts values (pyarrow
    # checks for pandas objects): 100 MB and 0.5 s per worker, paid once per ingest, in exchange
    # for a main process that only appends the batches
    from emailtrack_analytics.ingest.parsing.worker import parse_item, parse_many
    from emailtrack_analytics.ingest.shards import Shard, map_shard
    from emailtrack_analytics.ingest.sources import InputFile
    (tmp_path / "one.eml").write_bytes(lead())
    parser = _Parser(1)  # one worker runs every task below
    try:
        pool = parser.pool()
        parsed = pool.submit(parse_many, parse_item, [(lead(), None)]).result()
        batch = pool.submit(map_shard, Shard((InputFile(tmp_path / "one.eml", "eml", "one.eml"),)), parse_item).result()
        loaded = pool.submit(eval, "sorted(name for name in __import__('sys').modules if name in "
                                   "('duckdb', 'pyarrow', 'pandas', 'emailtrack_analytics.ingest.pipeline', "
                                   "'emailtrack_analytics.ingest.parsing.message'))").result()
    finally:
        parser.close()
    assert parsed[0].record.subject
    assert batch.tables()[0].column("subject").to_pylist() == [parsed[0].record.subject]
    assert loaded == ["emailtrack_analytics.ingest.parsing.message", "pandas", "pyarrow"]


MID_SEND = b"dies while writing its result"


def parse_or_die_mid_send(item):
    """A stand-in for the parser whose process is killed while it writes its result: half a
    message (a length promising 1 MB, then a few bytes) is left in the worker's pipe, found in
    the worker loop's frame."""
    data, _ = item
    if data == MID_SEND:
        frame = sys._getframe()
        while frame.f_code.co_name != "serve":
            frame = frame.f_back
        os.write(frame.f_locals["conn"].fileno(), struct.pack("!i", 1 << 20) + b"half a result")
        os._exit(137)
    return ("parsed", data.decode())


def test_a_worker_killed_while_writing_its_result_neither_hangs_the_ingest_nor_its_exit():
    # the pool waited for the rest of the message forever (an ingest found hung for hours);
    # run in a process of its own: a stuck pool also kept the interpreter from exiting
    script = """
from emailtrack_analytics.ingest.pipeline import _Parser
from tests.ingest.test_parallel import MID_SEND, parse_or_die_mid_send
items = [(f"message {n}".encode(), None) for n in range(300)]
items[100] = (MID_SEND, None)
parser = _Parser(2, parse=parse_or_die_mid_send)
results = parser.map(items)
after = parser.map(items[50:100] + items[101:301])
parser.close()
parsed = sum(result == ("parsed", f"message {n}") for n, result in enumerate(results))
print(results[100].reason, parsed, parser.crashes, after == [result for n, result in enumerate(results) if n >= 50 and n != 100])
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[2],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    # dead three times: with its chunk, then alone twice; the 299 others parsed; the pool works again
    assert done.stdout.split() == ["parser_crashed", "299", "3", "True"]


def test_a_worker_killed_while_idle_breaks_the_pool_at_its_next_task_and_nothing_is_lost():
    # no task was in flight when it died: the pool finds out when it hands it the next one
    items = [(f"message {n}".encode(), None) for n in range(400)]
    parser = _Parser(2, parse=parse_or_die)
    try:
        assert parser.map(items[:200]) == [("parsed", f"message {n}") for n in range(200)]
        pool = parser.pool()
        pool.processes[0].kill()
        pool.processes[0].join()
        results = parser.map(items[200:])
        assert parser.pool() is not pool
    finally:
        parser.close()
    assert results == [("parsed", f"message {n}") for n in range(200, 400)]
    assert parser.crashes >= 1
    assert all(not process.is_alive() for process in pool.processes)


def test_closing_the_parser_stops_its_workers():
    parser = _Parser(2, parse=parse_or_die)
    parser.map([(f"message {n}".encode(), None) for n in range(300)])
    processes = list(parser.pool().processes)
    parser.close()
    assert [process.exitcode for process in processes] == [0, 0]
