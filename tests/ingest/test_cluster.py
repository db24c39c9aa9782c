"""The map step on a real Dask cluster (a LocalCluster of two worker processes): the same stored
result as a local ingest, and nothing lost when a worker dies."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from emailtrack_analytics.errors import UsageError
from emailtrack_analytics.ingest.shards import Shard, map_shard
from emailtrack_analytics.ingest.sources import InputFile
from tests.builders import lead, mbox
from tests.conftest import export_tables, run_cli

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    import dask
    # a shard that kills its worker is given up after its second death, not its fourth: each
    # death costs a worker restart
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None, silence_logs=40) as local:
            yield local


def test_an_ingest_on_the_cluster_stores_what_a_local_ingest_stores(cluster, sample_workspace, tmp_path):
    shutil.copytree(sample_workspace / "data" / "sample", tmp_path / "ws" / "data" / "sample")
    shutil.copy(sample_workspace / "emailtrack.toml", tmp_path / "ws" / "emailtrack.toml")
    result = run_cli("--workspace", tmp_path / "ws", "ingest", tmp_path / "ws" / "data" / "sample",
                     "--scheduler", cluster.scheduler_address)
    assert result.code == 0, result.err
    on_cluster, local = export_tables(tmp_path / "ws"), export_tables(sample_workspace)
    assert on_cluster["messages"].count("\n") > 1000
    for table in local:
        assert on_cluster[table] == local[table], table


def test_an_mbox_cut_into_shards_on_the_cluster_stores_what_one_shard_stores(cluster, workspace, tmp_path,
                                                                             monkeypatch):
    import emailtrack_analytics.ingest.pipeline as pipeline
    leads = [lead(message_id=f"<d-{n}@lead.seloger.com>", subject=f"Lead {n}") for n in range(120)]
    box = tmp_path / "box.mbox"
    box.write_bytes(mbox(*leads, b"no header here\nnor here\n", leads[3]))
    monkeypatch.setattr(pipeline, "SHARD_BYTES", 16 * 1024)
    summary = pipeline.ingest(workspace, [box], scheduler=cluster.scheduler_address)
    assert (summary.new, summary.already_stored, summary.quarantined) == (120, 1, 1)
    con = pipeline.connect(workspace.database, read_only=True)
    try:
        sources = con.execute("SELECT source FROM sightings ORDER BY message_key, source").fetchall()
        quarantined = con.execute("SELECT source, reason FROM quarantine_items").fetchall()
    finally:
        con.close()
    label = workspace.relative(box)
    assert len(sources) == 122 - 1  # every copy sighted, the broken one quarantined
    assert quarantined == [(f"{label}:121", "not_an_email")]  # numbered over the whole file
    assert sorted(s for (s,) in sources if s.endswith((":4", ":122"))) == [f"{label}:122", f"{label}:4"]


KILLER = b"X-Test: this message kills the process that parses it"


def parse_or_die(item):
    """The parser, except that the process parsing the killer message dies (as under the
    out-of-memory killer). At module level: the Dask workers import it."""
    if KILLER in item[0]:
        os._exit(137)
    from emailtrack_analytics.ingest.parsing.worker import parse_item
    return parse_item(item)


def parse_or_die_once(item):
    """Dies the first time it parses the killer message (a counter file beside the test's
    files, named in the message), then parses it."""
    data = item[0]
    if b"X-Counter: " in data:
        counter = Path(data.split(b"X-Counter: ", 1)[1].split(b"\n", 1)[0].decode().strip())
        if not counter.exists():
            counter.write_text("died")
            os._exit(137)
    return parse_or_die(item)


def test_a_worker_killed_mid_shard_loses_nothing(cluster, tmp_path):
    from emailtrack_analytics.ingest.cluster import DaskMapper
    counter = tmp_path / "deaths"
    messages = [lead(message_id=f"<k-{n}@lead.seloger.com>") for n in range(30)]
    messages[12] = messages[12].replace(b"Subject:", f"X-Counter: {counter}\nSubject:".encode(), 1)
    box = tmp_path / "box.mbox"
    box.write_bytes(mbox(*messages))
    shard = Shard((InputFile(box, "mbox", "box.mbox"),))
    mapper = DaskMapper(cluster.scheduler_address, parse_or_die_once, lambda shard: pytest.fail("not recovered here"))
    try:
        batch = mapper.submit(shard).get()
    finally:
        mapper.close()
    assert counter.read_text() == "died"  # the worker died once, the task ran again elsewhere
    assert batch.tables()[0].num_rows == 30
    assert batch.tables()[0].equals(map_shard(shard).tables()[0])


def test_a_message_that_kills_every_worker_is_quarantined_and_the_rest_stored(cluster, tmp_path):
    from emailtrack_analytics.ingest.cluster import DaskMapper
    from emailtrack_analytics.ingest.pipeline import _Parser, recover_shard
    messages = [lead(message_id=f"<q-{n}@lead.seloger.com>") for n in range(20)]
    messages[7] = messages[7].replace(b"Subject:", KILLER + b"\nSubject:", 1)
    box = tmp_path / "box.mbox"
    box.write_bytes(mbox(*messages))
    shard = Shard((InputFile(box, "mbox", "box.mbox"),))
    parser = _Parser(2, parse=parse_or_die)
    mapper = DaskMapper(cluster.scheduler_address, parse_or_die, lambda s: recover_shard(parser, s))
    try:
        copies, _, quarantine, _ = mapper.submit(shard).get().tables()
    finally:
        mapper.close()
        parser.close()
    assert mapper.recovered == 1
    assert copies.num_rows == 19
    assert quarantine.column("source").to_pylist() == ["box.mbox:8"]
    assert quarantine.column("reason").to_pylist() == ["parser_crashed"]
    assert parser.crashes == 2  # found alone, twice, by the local workers


def test_files_the_workers_cannot_see_are_refused_not_quarantined(cluster, tmp_path):
    from emailtrack_analytics.ingest.cluster import DaskMapper
    shard = Shard((InputFile(tmp_path / "elsewhere.eml", "eml", "elsewhere.eml"),))
    mapper = DaskMapper(cluster.scheduler_address, parse_or_die, lambda s: pytest.fail("not recovered here"))
    try:
        with pytest.raises(UsageError, match="elsewhere.eml does not exist on Dask worker .*shared filesystem"):
            mapper.submit(shard).get()
    finally:
        mapper.close()


def test_an_unreachable_scheduler_is_a_usage_error(workspace, tmp_path):
    (tmp_path / "one.eml").write_bytes(lead())
    result = run_cli("--workspace", workspace.root, "ingest", tmp_path / "one.eml", "--scheduler", "tcp://127.0.0.1:9")
    assert result.code == 2
    assert "cannot reach the Dask scheduler tcp://127.0.0.1:9" in result.err
