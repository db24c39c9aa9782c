"""The map step on a Dask cluster against the local worker processes, with 1 and 2 workers.

    python benchmarks/cluster.py [--messages 20000] [--mbox FILE --workspace DIR]

Builds (or takes) one mbox and a workspace configuration, starts a Dask LocalCluster of N worker
processes (one thread each) for N = 1 and 2, and measures in one run, each in a fresh workspace:

  a. ``emailtrack ingest --workers N`` (the local parser processes);
  b. ``emailtrack ingest --scheduler tcp://…`` on the LocalCluster of N workers.

On one machine the cluster adds what Dask costs (the scheduler, task and result transfer over
TCP) to the same map; the point is that the step spreads over the workers of a real cluster
unchanged. Prints a table, then one JSON line (``RESULT {...}``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from ingest import build_mbox, fresh_workspace, timed  # noqa: E402  (a sibling script)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--mbox", type=Path, help="an mbox to ingest instead of a generated one")
    parser.add_argument("--workspace", type=Path, help="a workspace whose emailtrack.toml is used (with --mbox)")
    args = parser.parse_args()
    from distributed import LocalCluster

    folder = Path(tempfile.mkdtemp(prefix="emailtrack-cluster-"))
    try:
        if args.mbox:
            workspace, big = args.workspace, args.mbox
        else:
            workspace, big, _ = build_mbox(folder, args.messages)
        results: dict[str, float] = {}
        for workers in (1, 2):
            command = [sys.executable, "-m", "emailtrack_analytics", "--workspace"]
            target = fresh_workspace(workspace, folder / f"local-{workers}")
            seconds, _, line = timed([*command, str(target), "ingest", str(big), "--workers", str(workers)])
            results[f"local_{workers}_s"] = round(seconds, 2)
            print(f"a. --workers {workers}:   {seconds:7.2f} s  ({line})")
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                              dashboard_address=None, silence_logs=40) as cluster:
                target = fresh_workspace(workspace, folder / f"dask-{workers}")
                seconds, _, line = timed([*command, str(target), "ingest", str(big),
                                          "--scheduler", cluster.scheduler_address])
            results[f"dask_{workers}_s"] = round(seconds, 2)
            print(f"b. Dask, {workers} worker(s): {seconds:7.2f} s  ({line})")
        print("RESULT " + json.dumps(results))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
