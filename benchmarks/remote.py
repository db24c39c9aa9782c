"""Ingest from S3 (a moto server on loopback) against the same files on disk, locally and on Dask.

    python benchmarks/remote.py [--messages 20000] [--eml 2000]

Builds one mbox of about ``--messages`` messages (``benchmarks/ingest.py``), uploads it and
``--eml`` of its messages as single ``.eml`` objects to moto's S3 server (its own process on a
loopback port), then measures in one run, each ``emailtrack ingest`` in a process of its own
(wall time, and its peak RSS by GNU time) and each in a fresh workspace:

  a. the mbox from disk;                       b. the same mbox from ``s3://``;
  c. ``s3://`` again, nothing changed;         d. ``s3://`` on a Dask LocalCluster of 2 workers;
  e. the ``.eml`` files from disk;             f. the same ``.eml`` objects from ``s3://``;
  g. the same, with ``--kind eml`` (no first bytes fetched to tell the kind).

moto answers every request in Python on the same two cores as the ingest: a real store has more
latency per request and far more throughput. Prints a table, then one JSON line (``RESULT {...}``).
"""

from __future__ import annotations

import argparse
import json
import mailbox
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from ingest import build_mbox, fresh_workspace, timed  # noqa: E402  (a sibling script)

AWS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
       "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_moto(port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("moto's server did not start")


def upload(endpoint: str, big: Path, eml_count: int) -> tuple[str, int]:
    """The mbox as ``s3://BUCKET/mbox/all.mbox`` and its first ``eml_count`` messages as
    ``s3://BUCKET/eml/NN/NNNNNN.eml``; returns the bucket and the number of objects."""
    import s3fs
    fs = s3fs.S3FileSystem(endpoint_url=endpoint)
    bucket = f"bench-{uuid.uuid4().hex[:8]}"
    fs.mkdir(bucket)
    fs.put_file(str(big), f"{bucket}/mbox/all.mbox")
    objects = {}
    for count, message in enumerate(mailbox.mbox(big, create=False), start=1):
        if count > eml_count:
            break
        objects[f"{bucket}/eml/{count % 100:02d}/{count:06d}.eml"] = message.as_bytes()
    fs.pipe(objects)
    return bucket, len(objects)


def write_emls(big: Path, folder: Path, eml_count: int) -> None:
    for count, message in enumerate(mailbox.mbox(big, create=False), start=1):
        if count > eml_count:
            break
        target = folder / f"{count % 100:02d}" / f"{count:06d}.eml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(message.as_bytes())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--eml", type=int, default=2000, help="messages uploaded as single .eml objects")
    args = parser.parse_args()
    os.environ.update(AWS)  # for the ingest processes, the Dask workers and the upload
    folder = Path(tempfile.mkdtemp(prefix="emailtrack-remote-"))
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    server = start_moto(port)
    try:
        workspace, big, count = build_mbox(folder, args.messages)
        write_emls(big, folder / "eml", args.eml)
        started = time.perf_counter()
        bucket, objects = upload(endpoint, big, args.eml)
        print(f"{count} messages, {big.stat().st_size / 1e6:.1f} MB; {objects} .eml objects; "
              f"uploaded in {time.perf_counter() - started:.1f} s")
        command = [sys.executable, "-m", "emailtrack_analytics", "--workspace"]
        results: dict[str, float | int] = {"messages": count, "eml_objects": objects}

        def run(name: str, what: str, target: Path, *ingest_args: str) -> None:
            seconds, peak, line = timed([*command, str(target), "ingest", *ingest_args])
            results[f"{name}_s"], results[f"{name}_peak_mb"] = round(seconds, 2), round(peak / 1024)
            print(f"{what:<44} {seconds:7.2f} s  {peak / 1024:5.0f} MB  ({line.splitlines()[0]})")

        run("local_mbox", "a. mbox from disk", fresh_workspace(workspace, folder / "a"), str(big))
        s3_ws = fresh_workspace(workspace, folder / "b")
        run("s3_mbox", "b. mbox from s3://", s3_ws, f"s3://{bucket}/mbox/")
        run("s3_unchanged", "c. s3:// again, unchanged", s3_ws, f"s3://{bucket}/mbox/")
        from distributed import LocalCluster
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                          silence_logs=40) as cluster:
            run("dask2_s3_mbox", "d. mbox from s3://, Dask 2 workers", fresh_workspace(workspace, folder / "d"),
                f"s3://{bucket}/mbox/", "--scheduler", cluster.scheduler_address)
        run("local_eml", f"e. {objects} .eml from disk", fresh_workspace(workspace, folder / "e"), str(folder / "eml"))
        run("s3_eml", f"f. {objects} .eml from s3://", fresh_workspace(workspace, folder / "f"), f"s3://{bucket}/eml/")
        run("s3_eml_kind", f"g. {objects} .eml from s3://, --kind eml", fresh_workspace(workspace, folder / "g"),
            f"s3://{bucket}/eml/", "--kind", "eml")
        print("RESULT " + json.dumps(results))
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
