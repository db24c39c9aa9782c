"""One new message into a large workspace: what an everyday ingest costs once the store is big.

    python benchmarks/report.py --messages 1000000 --keep /data/bench1m   # build the 1M workspace once
    python benchmarks/refresh.py --workspace /data/bench1m [--copy]

Target (issue 14): ingesting 1 new message into the 1M-message workspace in under 5 s.

Writes one new lead (a SeLoger lead to a tracked address, a fresh Message-ID) as a one-message
mbox, then measures:

  a. ``emailtrack ingest`` of it end to end, in a subprocess (wall seconds, peak RSS), the
     refresh included (every ingest refreshes what changed);
  b. the same refresh in-process, step by step: each function of ``attribution/refresh.py`` the
     refresh calls, timed by wrapping it (a second new message, so that there is work to do),
     and the parts of the ingest around it, wrapped where ``ingest/pipeline.py`` calls them
     (opening the database, re-parsing stale copies, erasing the forgotten, the whole refresh);
  c. the CLI's own start: ``emailtrack --help`` in a subprocess (interpreter and imports).

``--copy`` works on a copy of the database (the kept workspace is left as it was). Prints a
table, then one JSON line (``RESULT {...}``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_S = 5.0
STEPS = ("mark_follow_ups", "_assign_lead_keys", "sync_config_tables", "store_leads", "classify_log_deliveries")
# the names ingest/pipeline.py calls around the refresh, wrapped there (the pipeline is not changed)
PIPELINE_STEPS = ("connect", "reparse_stale", "erase_forgotten", "refresh_attribution")


def new_lead(folder: Path, workspace: Path, n: int, at: dt.datetime = dt.datetime(2026, 10, 14, 10)) -> Path:
    """A one-message mbox: a portal lead to the workspace's first tracked address, sent ``n``
    minutes after ``at`` (UTC)."""
    from emailtrack_analytics.config.workspace import open_workspace
    ws = open_workspace(str(workspace))
    to = next(a for p in ws.points_of_sale for a in p.tracked_addresses)
    message = EmailMessage()
    message["From"] = "SeLoger <contact@myselogerpro.nmp1.com>"
    message["To"] = to
    message["Subject"] = f"Nouveau contact pour votre annonce réf. BENCH{n}"
    message["Date"] = format_datetime((at + dt.timedelta(minutes=n)).replace(tzinfo=dt.timezone.utc))
    message["Message-ID"] = f"<bench-{uuid.uuid4().hex}@myselogerpro.nmp1.com>"
    message.set_content(f"Bonjour,\n\nUn visiteur souhaite être contacté.\nNom : Bench {n}\n"
                        f"Email : bench{n}@example.org\nTéléphone : 06 12 34 56 {n:02d}\n")
    path = folder / f"new-{n}.mbox"
    path.write_bytes(b"From bench@example Wed Oct 14 10:00:00 2026\n" + message.as_bytes() + b"\n")
    return path


def ingest(workspace: Path, path: Path) -> tuple[float, int, str]:
    command = [sys.executable, "-m", "emailtrack_analytics", "--workspace", str(workspace), "ingest", str(path)]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, peak, (done.stderr.strip().splitlines() or [""])[-1]


def steps_in_process(workspace: Path, path: Path) -> dict[str, float]:
    """The same ingest in-process, each step of the refresh after it timed."""
    from emailtrack_analytics.attribution import refresh
    from emailtrack_analytics.config.workspace import open_workspace
    from emailtrack_analytics.ingest import pipeline

    timings: dict[str, float] = {}

    def timed(name, function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                timings[name] = timings.get(name, 0.0) + time.perf_counter() - started
        return wrapper

    ws = open_workspace(str(workspace))
    originals = {name: getattr(refresh, name) for name in STEPS}
    around = {name: getattr(pipeline, name) for name in PIPELINE_STEPS}
    for name, function in originals.items():
        setattr(refresh, name, timed(name, function))
    for name, function in around.items():
        setattr(pipeline, name, timed("ingest." + name, function))
    try:
        started = time.perf_counter()
        summary = pipeline.ingest(ws, [path])
        timings["ingest_total"] = time.perf_counter() - started
        assert summary.new == 1, summary
    finally:
        for name, function in originals.items():
            setattr(refresh, name, function)
        for name, function in around.items():
            setattr(pipeline, name, function)
    # what is neither the refresh nor the wrapped parts: the ledger, reading and storing the message
    timings["ingest.rest"] = timings["ingest_total"] - sum(timings[f"ingest.{name}"] for name in PIPELINE_STEPS)
    return {k: round(v, 2) for k, v in timings.items()}


def cli_start() -> float:
    """Seconds for ``emailtrack --help``: the interpreter and the CLI's imports."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "emailtrack_analytics", "--help"], capture_output=True, check=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace", type=Path, required=True, help="a large workspace (benchmarks/report.py --keep)")
    parser.add_argument("--copy", action="store_true", help="work on a copy of the workspace")
    parser.add_argument("--at", type=dt.datetime.fromisoformat, default=dt.datetime(2026, 10, 14, 10),
                        help="when the new leads are sent (UTC, ISO 8601; default 2026-10-14T10:00, after the "
                             "sample's year: among the stored copies, e.g. 2026-03-16T10:00, more are linked "
                             "and judged again)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="emailtrack-refresh-bench-"))
    try:
        root = args.workspace.resolve()
        if args.copy:
            shutil.copytree(root, folder / "ws", ignore=shutil.ignore_patterns("sample", "reports"))
            root = folder / "ws"
        seconds, peak_kb, summary = ingest(root, new_lead(folder, root, 1, args.at))
        steps = steps_in_process(root, new_lead(folder, root, 2, args.at))
        steps["cli_start"] = round(cli_start(), 2)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"emailtrack ingest of 1 new message: {seconds:.2f} s wall, peak RSS {peak_kb // 1024} MB "
          f"(target < {TARGET_S:.0f} s: {'met' if seconds < TARGET_S else 'NOT met'})")
    print(f"  {summary}")
    print("the refresh after it, step by step (in-process; ingest.*: the ingest around it; cli_start: "
          "emailtrack --help):")
    for name, value in steps.items():
        print(f"  {name:<26} {value:>7.2f} s")
    print("RESULT " + json.dumps({"ingest_seconds": round(seconds, 2), "peak_rss_mb": peak_kb // 1024,
                                  "target_s": TARGET_S, "steps": steps}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
