"""``emailtrack ingest s3://…``: objects read where they are, from a real S3-compatible server on
loopback (moto's server), locally and on a real Dask LocalCluster, against the same files read
from disk.

Year-less Postfix logs and Maildirs are left out of the comparisons with local files: a store
keeps no modification time (a syslog line's year comes from the object's upload time), and a
Maildir under a URL is read as message files, each its own source (docs/ingest.md).
"""

from __future__ import annotations

import gzip
import io
import logging
import re
import shutil
import uuid
from pathlib import Path

import pytest

from emailtrack_analytics.config.workspace import open_workspace
from emailtrack_analytics.errors import UsageError
from emailtrack_analytics.ingest.pipeline import connect, ingest
from emailtrack_analytics.ingest.shards import Shard, map_shard
from emailtrack_analytics.ingest.sources import InputFile
from emailtrack_analytics.ingest.sources.remote import FETCH_WHOLE, list_objects, storage_options
from tests.builders import lead, mbox, outlook_forward
from tests.conftest import BASIC_CONFIG, export_tables, free_port, run_cli, write_config

s3fs = pytest.importorskip("s3fs", reason="s3fs not installed: pip install 'emailtrack-analytics[s3]'")
moto_server = pytest.importorskip("moto.server", reason="moto's server not installed: pip install 'moto[server]'")

SECRET = "wJalrXUtnFEMI-not-a-real-secret-K7MDENG"


class _Requests(logging.Handler):
    """The request lines the server logs (werkzeug's access log): what the client really asked."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(re.sub(r"\x1b\[[0-9;]*m", "", record.getMessage()))  # without its terminal colours

    def object_reads(self, bucket: str) -> list[str]:
        """GET requests for an object's bytes (not listings, which carry a query)."""
        return [line for line in self.lines if f'"GET /{bucket}/' in line and "?" not in line.split('"')[1]]


class S3:
    def __init__(self, endpoint: str, requests: _Requests) -> None:
        self.endpoint, self.requests = endpoint, requests
        self.fs = s3fs.S3FileSystem(endpoint_url=endpoint, key="testing", secret="testing", skip_instance_cache=True)

    def bucket(self) -> str:
        name = f"exports-{uuid.uuid4().hex[:12]}"
        self.fs.mkdir(name)
        return name

    def upload(self, folder: Path, bucket: str, prefix: str = "") -> None:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                self.fs.pipe_file(f"{bucket}/{prefix}{path.relative_to(folder).as_posix()}", path.read_bytes())


@pytest.fixture(scope="module")
def s3():
    """moto's S3 server on a free loopback port; AWS variables point every client (and every Dask
    worker started after them) at it, with test credentials, and at no real AWS file."""
    with pytest.MonkeyPatch.context() as env:
        for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                            "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
                            "AWS_CONFIG_FILE": "/nonexistent/aws-config",
                            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials"}.items():
            env.setenv(name, value)
        env.delenv("AWS_PROFILE", raising=False)
        server = moto_server.ThreadedMotoServer("127.0.0.1", 0, verbose=False)
        requests = _Requests()
        access_log = logging.getLogger("werkzeug")
        level = access_log.level
        access_log.addHandler(requests)
        access_log.setLevel(logging.INFO)
        server.start()
        try:
            host, port = server.get_host_and_port()
            endpoint = f"http://{host}:{port}"
            env.setenv("AWS_ENDPOINT_URL", endpoint)
            s3fs.S3FileSystem.clear_instance_cache()
            yield S3(endpoint, requests)
        finally:
            server.stop()
            access_log.removeHandler(requests)
            access_log.setLevel(level)
            s3fs.S3FileSystem.clear_instance_cache()


def _exports(folder: Path, messages: int = 40) -> Path:
    """An mbox of portal leads and a folder of .eml files (a forward, a lead, a copy of an mbox
    message), as a network's export holds them."""
    folder.mkdir(parents=True)
    leads = [lead(message_id=f"<r-{n}@lead.seloger.com>", subject=f"Lead {n}") for n in range(messages)]
    (folder / "tracking.mbox").write_bytes(mbox(*leads))
    (folder / "eml").mkdir()
    (folder / "eml" / "forward.eml").write_bytes(outlook_forward())
    (folder / "eml" / "new.eml").write_bytes(lead(message_id="<e-1@lead.seloger.com>"))
    (folder / "eml" / "copy.eml").write_bytes(leads[5])
    (folder / "eml" / ".hidden.eml").write_bytes(lead(message_id="<hidden@lead.seloger.com>"))
    return folder


def _same_exports(local: Path, remote: Path, url: str, label: str) -> None:
    here, there = export_tables(local), export_tables(remote)
    assert here["messages"].count("\n") > 10
    for table in here:
        assert there[table].replace(url, label) == here[table], table


def test_an_mbox_and_an_eml_folder_from_s3_store_what_the_same_files_store(s3, tmp_path, monkeypatch):
    import emailtrack_analytics.ingest.pipeline as pipeline
    monkeypatch.setattr(pipeline, "SHARD_BYTES", 8 * 1024)  # the mbox is cut: ranges read from the object
    local, remote = tmp_path / "local", tmp_path / "remote"
    write_config(local, BASIC_CONFIG)
    write_config(remote, BASIC_CONFIG)
    files = _exports(local / "data" / "exports")
    bucket = s3.bucket()
    s3.upload(files, bucket, "exports/")
    on_disk = ingest(open_workspace(local), [files])
    from_s3 = ingest(open_workspace(remote), [f"s3://{bucket}/exports/"])
    assert (from_s3.new, from_s3.already_stored, from_s3.quarantined, from_s3.files_read) == \
        (on_disk.new, on_disk.already_stored, on_disk.quarantined, on_disk.files_read) == (42, 1, 0, 4)
    _same_exports(local, remote, f"s3://{bucket}/exports/", "data/exports/")


def test_an_unchanged_bucket_is_skipped_without_reading_an_object(s3, workspace, tmp_path):
    bucket = s3.bucket()
    s3.upload(_exports(tmp_path / "files"), bucket)
    first = ingest(workspace, [f"s3://{bucket}/"])
    assert first.files_read == 4
    assert len(s3.requests.object_reads(bucket)) >= 4  # it did read them the first time
    s3.requests.lines.clear()
    again = ingest(workspace, [f"s3://{bucket}/"])
    assert (again.new, again.already_stored, again.files_read, again.files_skipped) == (0, 0, 0, 4)
    assert s3.requests.object_reads(bucket) == []   # one listing, no object opened
    assert any(f"GET /{bucket}?list-type=2" in line for line in s3.requests.lines)


def test_an_appended_mbox_adds_only_its_new_messages(s3, workspace):
    bucket = s3.bucket()
    leads = [lead(message_id=f"<a-{n}@lead.seloger.com>", subject=f"Lead {n}") for n in range(13)]
    s3.fs.pipe_file(f"{bucket}/box.mbox", mbox(*leads[:10]))
    s3.fs.pipe_file(f"{bucket}/one.eml", lead(message_id="<a-one@lead.seloger.com>"))
    first = ingest(workspace, [f"s3://{bucket}"])
    assert (first.new, first.files_read) == (11, 2)
    s3.fs.pipe_file(f"{bucket}/box.mbox", mbox(*leads))  # a month later: the same object, longer
    s3.requests.lines.clear()
    second = ingest(workspace, [f"s3://{bucket}"])
    assert (second.new, second.already_stored, second.files_read, second.files_skipped) == (3, 10, 1, 1)
    assert not any("one.eml" in line for line in s3.requests.object_reads(bucket))
    con = connect(workspace.database, read_only=True)
    try:
        ledger = con.execute("SELECT path, items, new_items FROM ingested_files ORDER BY path").fetchall()
        sources = con.execute("SELECT first_source FROM stored_messages WHERE message_id = 'a-12@lead.seloger.com'"
                              ).fetchall()
    finally:
        con.close()
    assert ledger == [(f"s3://{bucket}/box.mbox", 13, 3), (f"s3://{bucket}/one.eml", 1, 1)]
    assert sources == [(f"s3://{bucket}/box.mbox:13",)]


def test_the_source_is_the_url_and_no_secret_is_stored_or_shown(s3, workspace_dir, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    bucket = s3.bucket()
    s3.fs.pipe_file(f"{bucket}/in/box.mbox", mbox(lead(message_id="<s-1@lead.seloger.com>"), lead()))
    options = ["--storage-option", f"endpoint_url={s3.endpoint}", "--storage-option", "key=AKIDEXAMPLEKEY",
               "--storage-option", f"secret={SECRET}"]
    result = run_cli("--workspace", workspace_dir, "ingest", f"s3://{bucket}/in/", *options)
    assert result.code == 0, result.err
    assert "2 new" in result.out
    messages = export_tables(workspace_dir, ("messages",))["messages"]
    assert f"s3://{bucket}/in/box.mbox:1" in messages and f"s3://{bucket}/in/box.mbox:2" in messages
    con = connect(open_workspace(workspace_dir).database, read_only=True)
    try:
        tables = [name for (name,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        stored = "".join(str(con.execute(f'SELECT * FROM "{name}"').fetchall()) for name in tables)
    finally:
        con.close()
    assert f"s3://{bucket}/in/box.mbox" in stored
    assert SECRET not in stored and "AKIDEXAMPLEKEY" not in stored
    missing = run_cli("--workspace", workspace_dir, "ingest", f"s3://{bucket}/in/nope.mbox", *options)
    assert missing.code == 2
    assert SECRET not in missing.err + missing.out and "AKIDEXAMPLEKEY" not in missing.err + missing.out


@pytest.mark.parametrize("name", ["object", "bucket", "glob"])
def test_a_missing_object_or_bucket_is_a_usage_error_naming_it(s3, workspace_dir, tmp_path, name):
    bucket = s3.bucket()
    s3.fs.pipe_file(f"{bucket}/here.eml", lead())
    url = {"object": f"s3://{bucket}/exports/2026-10.mbox", "bucket": "s3://no-such-bucket-here/exports/",
           "glob": f"s3://{bucket}/*.mbox"}[name]
    (tmp_path / "one.eml").write_bytes(lead(message_id="<m-1@lead.seloger.com>"))
    result = run_cli("--workspace", workspace_dir, "ingest", tmp_path / "one.eml", url)
    assert result.code == 2
    assert f"input path not found: {url}" in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert not (workspace_dir / "data" / "emailtrack.duckdb").exists()  # refused before any work


def test_no_credentials_and_an_unreachable_endpoint_are_usage_errors(s3, workspace_dir, monkeypatch):
    bucket = s3.bucket()
    s3.fs.pipe_file(f"{bucket}/one.eml", lead())
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    s3fs.S3FileSystem.clear_instance_cache()  # a filesystem made with the test credentials would be reused
    try:
        result = run_cli("--workspace", workspace_dir, "ingest", f"s3://{bucket}/")
        assert result.code == 2
        assert f"cannot list s3://{bucket}/: no credentials: set AWS_ACCESS_KEY_ID" in result.err
        s3fs.S3FileSystem.clear_instance_cache()
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
        result = run_cli("--workspace", workspace_dir, "ingest", f"s3://{bucket}/")
        assert result.code == 2
        assert f"cannot list s3://{bucket}/: cannot reach the endpoint" in result.err
    finally:
        s3fs.S3FileSystem.clear_instance_cache()


def test_a_maildir_under_a_url_is_read_as_message_files_without_its_tmp(s3, workspace):
    bucket = s3.bucket()
    s3.fs.pipe_file(f"{bucket}/Maildir/cur/1789302067.M1P1.mx1:2,S", lead(message_id="<md-1@lead.seloger.com>"))
    s3.fs.pipe_file(f"{bucket}/Maildir/new/1789302068.M2P1.mx1", lead(message_id="<md-2@lead.seloger.com>"))
    s3.fs.pipe_file(f"{bucket}/Maildir/tmp/1789302069.M3P1.mx1", b"Subject: half writ")
    with pytest.raises(UsageError, match=f"s3://{bucket}/Maildir: --kind maildir reads a local folder"):
        ingest(workspace, [f"s3://{bucket}/Maildir"], kind="maildir")
    summary = ingest(workspace, [f"s3://{bucket}/Maildir"])
    assert (summary.new, summary.quarantined, summary.files_read) == (2, 0, 2)
    con = connect(workspace.database, read_only=True)
    try:
        sources = sorted(s for (s,) in con.execute("SELECT source FROM sightings").fetchall())
    finally:
        con.close()
    assert sources == [f"s3://{bucket}/Maildir/cur/1789302067.M1P1.mx1:2,S",
                       f"s3://{bucket}/Maildir/new/1789302068.M2P1.mx1"]


def test_bad_objects_are_quarantined_and_the_others_stored(s3, workspace):
    bucket = s3.bucket()
    whole = gzip.compress(mbox(*(lead(message_id=f"<g-{n}@lead.seloger.com>") for n in range(30))))
    s3.fs.pipe_file(f"{bucket}/a-cut.mbox.gz", whole[:-20])   # a gzip cut short: 27 messages, then the cut
    s3.fs.pipe_file(f"{bucket}/b-good.eml", lead(message_id="<g-good@lead.seloger.com>"))
    s3.fs.pipe_file(f"{bucket}/c-noise.eml", b"\x00\x01 not a message at all \xff" * 40)
    summary = ingest(workspace, [f"s3://{bucket}/"])
    assert (summary.new, summary.quarantined, summary.files_read) == (28, 2, 3)
    con = connect(workspace.database, read_only=True)
    try:
        quarantined = dict(con.execute("SELECT source, reason FROM quarantine_items").fetchall())
        stored = {m for (m,) in con.execute("SELECT message_id FROM stored_messages").fetchall()}
    finally:
        con.close()
    assert "g-good@lead.seloger.com" in stored and "g-0@lead.seloger.com" in stored
    assert quarantined[f"s3://{bucket}/c-noise.eml"] == "not_an_email"
    assert quarantined[f"s3://{bucket}/a-cut.mbox.gz:28"] == "truncated"


def test_an_object_gone_between_listing_and_reading_is_quarantined_unreadable(s3, tmp_path):
    bucket = s3.bucket()
    for name in ("a.eml", "b.eml", "c.eml"):
        s3.fs.pipe_file(f"{bucket}/{name}", lead(message_id=f"<{name}@lead.seloger.com>"))
    objects = list_objects(f"s3://{bucket}/")
    s3.fs.rm(f"{bucket}/b.eml")
    shard = Shard(tuple(InputFile(obj, "eml", obj.url) for obj in objects))
    copies, _, quarantine, _ = map_shard(shard).tables()
    assert copies.column("source").to_pylist() == [f"s3://{bucket}/a.eml", f"s3://{bucket}/c.eml"]
    assert quarantine.column("source").to_pylist() == [f"s3://{bucket}/b.eml"]
    assert quarantine.column("reason").to_pylist() == ["unreadable"]


def test_storage_options_are_typed_and_a_bad_one_refused_without_its_value():
    assert storage_options(["anon=true", "endpoint_url=http://minio:9000", "max_concurrency=4"]) == \
        {"anon": True, "endpoint_url": "http://minio:9000", "max_concurrency": 4}
    with pytest.raises(UsageError, match="KEY=VALUE") as refused:
        storage_options([SECRET])
    assert SECRET not in str(refused.value)

    # a secret of digits stays text, its zeros kept (it would be another secret as a number)
    assert storage_options(["secret=00123456", "key=2024"]) == {"secret": "00123456", "key": "2024"}


def _ledger(workspace) -> list[tuple]:
    con = connect(workspace.database, read_only=True)
    try:
        return con.execute("SELECT path, items FROM ingested_files ORDER BY path").fetchall()
    finally:
        con.close()


class _Cut(io.RawIOBase):
    """An object's stream that raises ConnectionResetError once ``limit`` bytes were read: a
    store's connection reset part way through an object."""

    def __init__(self, stream, limit: int) -> None:
        super().__init__()
        self.stream, self.left = stream, limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.left <= 0:
            raise ConnectionResetError(104, "Connection reset by peer")
        data = self.stream.read(min(len(buffer), self.left))
        self.left -= len(data)
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        self.stream.close()
        super().close()


def test_an_object_cut_off_part_way_is_read_again_by_the_next_run(s3, workspace, monkeypatch):
    """A reset connection part way through an mbox or a log: what was read is stored, the break
    quarantined, and no ledger entry is written, so the next run stores the rest (not: skipped
    as unchanged for good)."""
    from emailtrack_analytics.ingest.sources.remote import ObjectPath
    bucket = s3.bucket()
    leads = [lead(message_id=f"<cut-{n}@lead.seloger.com>", subject=f"Lead {n}", body="x" * 4000 + f" {n}\n")
             for n in range(80)]
    s3.fs.pipe_file(f"{bucket}/box.mbox", mbox(*leads))          # over FETCH_WHOLE: streamed
    rows = "\n".join(f"2026-03-{1 + n % 28:02d}T10:{n % 60:02d}:00+01:00,<d-{n}@www.agence-exemple.fr>,"
                     f"formulaire@agence-exemple.fr,Demande de contact - Appartement {n},lyon2@agence-exemple.fr"
                     for n in range(3000))
    s3.fs.pipe_file(f"{bucket}/dist.csv",
                    ("received_at,message_id,sender,subject,delivered_to\n" + rows + "\n").encode())
    assert s3.fs.size(f"{bucket}/box.mbox") > FETCH_WHOLE and s3.fs.size(f"{bucket}/dist.csv") > FETCH_WHOLE
    opened = ObjectPath.open
    monkeypatch.setattr(ObjectPath, "open",
                        lambda self, *a, **k: io.BufferedReader(_Cut(opened(self, *a, **k), 150_000), 65536))
    first = ingest(workspace, [f"s3://{bucket}/"], workers=1)
    assert 0 < first.new < 80 and first.quarantined >= 2
    assert _ledger(workspace) == []
    monkeypatch.setattr(ObjectPath, "open", opened)
    second = ingest(workspace, [f"s3://{bucket}/"], workers=1)
    assert (second.new + first.new, second.files_read, second.files_skipped) == (80, 2, 0)
    assert [path for path, _ in _ledger(workspace)] == [f"s3://{bucket}/box.mbox", f"s3://{bucket}/dist.csv"]
    con = connect(workspace.database, read_only=True)
    try:
        quarantined = con.execute("SELECT count(*) FROM quarantine_items").fetchone()[0]
        distribution = con.execute("SELECT count(*) FROM distribution_log").fetchone()[0]
    finally:
        con.close()
    assert (quarantined, distribution) == (0, 3000)
    assert ingest(workspace, [f"s3://{bucket}/"], workers=1).files_skipped == 2


def test_an_object_whose_kind_cannot_be_fetched_is_quarantined_not_guessed(s3, workspace, monkeypatch):
    """Telling an object's kind fetches its first bytes: a passing failure is tried again; one
    that fails twice leaves the object unreadable (not an mbox read as one message, and not
    skipped by the next run)."""
    import emailtrack_analytics.ingest.sources as sources
    bucket = s3.bucket()
    s3.fs.pipe_file(f"{bucket}/box.mbox", mbox(*(lead(message_id=f"<k-{n}@lead.seloger.com>") for n in range(40))))
    real, failures = sources.fetch, {"left": 1}

    def failing(objects, *args):
        if objects and failures["left"] > 0:
            failures["left"] -= 1
            return [ConnectionResetError(104, "Connection reset by peer") for _ in objects]
        return real(objects, *args)

    monkeypatch.setattr(sources, "fetch", failing)
    assert ingest(workspace, [f"s3://{bucket}/"], workers=1).new == 40     # failed once: tried again
    other = open_workspace(workspace.root)
    bucket = s3.bucket()
    s3.fs.pipe_file(f"{bucket}/box.mbox", mbox(*(lead(message_id=f"<k2-{n}@lead.seloger.com>") for n in range(40))))
    failures["left"] = 2
    first = ingest(other, [f"s3://{bucket}/"], workers=1)
    assert (first.new, first.quarantined) == (0, 1)
    assert f"s3://{bucket}/box.mbox" not in [path for path, _ in _ledger(other)]
    assert ingest(other, [f"s3://{bucket}/"], workers=1).new == 40


def test_a_prefix_is_listed_even_beside_an_object_of_its_name_and_a_glob_reads_below_a_hidden_prefix(
        s3, workspace):
    bucket = s3.bucket()
    s3.fs.pipe_file(f"{bucket}/exports", lead(message_id="<p-self@lead.seloger.com>"))
    s3.fs.pipe_file(f"{bucket}/exports/a.eml", lead(message_id="<p-a@lead.seloger.com>"))
    s3.fs.pipe_file(f"{bucket}/exports/b.eml", lead(message_id="<p-b@lead.seloger.com>"))
    s3.fs.pipe_file(f"{bucket}/.archive/x.eml", lead(message_id="<p-x@lead.seloger.com>"))
    s3.fs.pipe_file(f"{bucket}/.archive/.y.eml", lead(message_id="<p-y@lead.seloger.com>"))
    assert [o.url for o in list_objects(f"s3://{bucket}/exports/")] == \
        [f"s3://{bucket}/exports/a.eml", f"s3://{bucket}/exports/b.eml"]
    assert [o.url for o in list_objects(f"s3://{bucket}/.archive/*.eml")] == [f"s3://{bucket}/.archive/x.eml"]
    with pytest.raises(UsageError, match="hidden"):
        list_objects(f"s3://{bucket}/.archive/.y*")   # a hidden name the glob's pattern matches is still hidden
    assert ingest(workspace, [f"s3://{bucket}/exports/"]).new == 2


def test_credentials_in_a_url_are_refused_without_showing_them(s3, workspace_dir):
    bucket = s3.bucket()
    s3.fs.pipe_file(f"{bucket}/in/one.eml", lead())
    secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCY"     # AWS secret keys hold "/"
    for url in (f"s3://AKIDEXAMPLE:{secret}@{bucket}/in/", f"s3://user:p@ss{secret}@{bucket}/in/"):
        result = run_cli("--workspace", workspace_dir, "ingest", url)
        assert result.code == 2
        assert "credentials in the URL are not read" in result.err
        assert secret not in result.err + result.out and "p@ss" not in result.err


@pytest.fixture(scope="module")
def cluster(s3):
    """Two Dask worker processes, started once the AWS variables point at the test server."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=40) as local:
        yield local


def test_an_ingest_from_s3_on_a_dask_cluster_stores_what_a_local_ingest_stores(s3, cluster, sample_workspace,
                                                                               tmp_path, monkeypatch):
    import emailtrack_analytics.ingest.pipeline as pipeline
    monkeypatch.setattr(pipeline, "SHARD_BYTES", 64 * 1024)  # mboxes cut here, their ranges read by the workers
    sample = sample_workspace / "data" / "sample"
    local, remote = tmp_path / "local", tmp_path / "remote"
    for ws in (local, remote):
        ws.mkdir()
        shutil.copy(sample_workspace / "emailtrack.toml", ws / "emailtrack.toml")
    files = local / "data" / "exports"
    shutil.copytree(sample, files, ignore=shutil.ignore_patterns("maildir", "postfix"))
    bucket = s3.bucket()
    s3.upload(files, bucket)
    on_disk = run_cli("--workspace", local, "ingest", files, "--workers", "1")
    assert on_disk.code == 0, on_disk.err
    s3.requests.lines.clear()
    on_cluster = run_cli("--workspace", remote, "ingest", f"s3://{bucket}/", "--scheduler", cluster.scheduler_address)
    assert on_cluster.code == 0, on_cluster.err
    assert on_cluster.out == on_disk.out   # the same counts: new, stored, quarantined, log rows, files
    _same_exports(local, remote, f"s3://{bucket}/", "data/exports/")
    # mboxes too large to be fetched whole here: their shards carried URLs, which the workers read
    assert sum(path.stat().st_size > FETCH_WHOLE for path in files.rglob("*.mbox")) >= 10
