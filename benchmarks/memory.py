"""Peak memory of ``emailtrack ingest`` against the size of the mbox it reads.

    python benchmarks/memory.py [--sizes-mb 50 200 800] [--workers N]

Builds mboxes of the given sizes from the sample generator's messages (each repetition made
unique by one added header, so every message is parsed and stored), ingests each into a fresh
workspace in a subprocess, and prints the peak RSS of the ingesting process and of its largest
worker. Flat memory means the figures do not grow with the size. Then ingests the same, unchanged
file again (every message already stored: the ledger skips it). One ``RESULT`` JSON line.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_SEPARATOR = re.compile(rb"^(From [^\n]*\n)", re.M)


def build(folder: Path, size_mb: int) -> tuple[Path, Path, int]:
    from emailtrack_analytics.demo.sample import write_sample
    info = write_sample(folder / "ws", end_month="2026-10", scale=1.0)
    one = b"".join(p.read_bytes() for p in sorted((info.data_dir / "tracking").glob("*.mbox")))
    shutil.rmtree(info.data_dir)
    target, written, copy, messages = size_mb * 1024 * 1024, 0, 0, 0
    path = folder / f"{size_mb}mb.mbox"
    with open(path, "wb") as out:
        while written < target:
            copy += 1
            block = _SEPARATOR.sub(lambda m, copy=copy: m.group(1) + f"X-Benchmark-Copy: {copy}\n".encode(), one)
            out.write(block)
            written += len(block)
            messages += block.count(b"\nX-Benchmark-Copy: ") + block.startswith(b"X-Benchmark-Copy")
    return info.root, path, messages


def measure(workspace: Path, mbox: Path, workers: int | None) -> dict:
    command = [sys.executable, "-c",
               "import resource, sys\n"
               "from emailtrack_analytics.cli import main\n"
               "code = main(sys.argv[1:])\n"
               "print('RSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,"
               " resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
               "sys.exit(code)",
               "--workspace", str(workspace), "ingest", str(mbox)]
    if workers:
        command += ["--workers", str(workers)]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        # what the command said is the benchmark's finding: print it instead of a traceback
        raise SystemExit(f"emailtrack ingest failed (exit {done.returncode}) after {seconds:.1f} s:\n"
                         + "\n".join(done.stderr.strip().splitlines()[-5:]))
    main_kb, worker_kb = (int(x) for x in done.stdout.split("RSS", 1)[1].split())
    return {"seconds": round(seconds, 1), "main_rss_mb": round(main_kb / 1024),
            "worker_rss_mb": round(worker_kb / 1024), "summary": done.stdout.split("\n", 1)[0]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes-mb", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    results = []
    for size in args.sizes_mb:
        folder = Path(tempfile.mkdtemp(prefix="emailtrack-mem-"))
        try:
            workspace, mbox, messages = build(folder, size)
            figures = measure(workspace, mbox, args.workers)
            again = measure(workspace, mbox, args.workers)  # the same, unchanged file: skipped by the ledger
            figures.update(size_mb=size, messages=messages, msg_s=round(messages / figures["seconds"]),
                           reingest_seconds=again["seconds"], reingest_summary=again["summary"])
            results.append(figures)
            print(f"{size:>6} MB {messages:>8} messages  {figures['seconds']:>7} s  {figures['msg_s']:>6} msg/s  "
                  f"peak RSS main {figures['main_rss_mb']} MB, largest worker {figures['worker_rss_mb']} MB; "
                  f"again unchanged: {figures['reingest_seconds']} s")
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    print("RESULT " + json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
