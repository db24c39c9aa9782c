"""Ingest speed and memory, against baselines measured in the same run.

    python benchmarks/ingest.py [--messages 20000] [--workers N] [--keep DIR]

Builds one mbox of about N messages from the sample generator (leads and non-leads, multipart,
HTML, attachments, inline and attached forwards), then measures:

  a. ``emailtrack ingest`` end to end (parse, attribute, store in DuckDB), in a subprocess;
  b. the naive notebook loop: ``mailbox.mbox`` + ``mailparser.parse_from_bytes``, nothing stored;
  c. a lower bound: the stdlib ``BytesHeaderParser`` over the same messages;
  d. re-ingesting the same, unchanged file (the ledger skips it);
  e. the same messages as a folder of single-message ``.eml`` files (100 sub-folders), in a
     fresh workspace: the shape of an export from Outlook or a Maildir.

Prints a table, then one JSON line (``RESULT {...}``) that a script can read.
"""

from __future__ import annotations

import argparse
import json
import mailbox
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from email import policy
from email.parser import BytesHeaderParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def build_mbox(folder: Path, messages: int) -> tuple[Path, Path, int]:
    """A workspace with the sample config and one mbox of about ``messages`` messages."""
    from emailtrack_analytics.demo.sample import write_sample
    info = write_sample(folder / "ws", end_month="2026-10", scale=messages / 10_000)
    big = folder / "all.mbox"
    with open(big, "wb") as out:
        for month in sorted((info.data_dir / "tracking").glob("*.mbox")):
            out.write(month.read_bytes())
    count = len(mailbox.mbox(big, create=False))
    shutil.rmtree(info.data_dir)  # only the single mbox is ingested
    return info.root, big, count


def run_ingest(workspace: Path, path: Path, workers: int | None) -> tuple[float, int, str]:
    """Wall seconds, peak RSS of the child (kB) and its summary line."""
    command = [sys.executable, "-m", "emailtrack_analytics", "--workspace", str(workspace), "ingest", str(path)]
    if workers:
        command += ["--workers", str(workers)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(peak, before), done.stdout.strip()


def write_eml_folder(path: Path, folder: Path) -> int:
    """Each message of the mbox as its own ``.eml`` file, in 100 sub-folders."""
    count = 0
    for count, message in enumerate(mailbox.mbox(path, create=False), start=1):
        target = folder / f"{count % 100:02d}" / f"{count:06d}.eml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(message.as_bytes())
    return count


def fresh_workspace(workspace: Path, target: Path) -> Path:
    target.mkdir()
    shutil.copy(workspace / "emailtrack.toml", target / "emailtrack.toml")
    return target


def naive(path: Path) -> tuple[float, int]:
    import mailparser
    started = time.perf_counter()
    count = 0
    for message in mailbox.mbox(path, create=False):
        mailparser.parse_from_bytes(message.as_bytes())
        count += 1
    return time.perf_counter() - started, count


def lower_bound(path: Path) -> tuple[float, int]:
    raws = [m.as_bytes() for m in mailbox.mbox(path, create=False)]
    parser = BytesHeaderParser(policy=policy.compat32)
    started = time.perf_counter()
    for raw in raws:
        parser.parsebytes(raw)
    return time.perf_counter() - started, len(raws)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=None, help="emailtrack --workers (default: its own)")
    parser.add_argument("--keep", type=Path, help="keep the generated workspace here")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="emailtrack-bench-"))
    try:
        workspace, big, count = build_mbox(folder, args.messages)
        size_mb = big.stat().st_size / 1e6
        a_seconds, a_rss_kb, a_line = run_ingest(workspace, big, args.workers)
        d_seconds, _, d_line = run_ingest(workspace, big, args.workers)
        eml_count = write_eml_folder(big, folder / "eml")
        e_seconds, _, e_line = run_ingest(fresh_workspace(workspace, folder / "ws-eml"), folder / "eml", args.workers)
        b_seconds, b_count = naive(big)
        c_seconds, c_count = lower_bound(big)
        assert b_count == c_count == count, (b_count, c_count, count)
        a_rate, b_rate, c_rate = count / a_seconds, count / b_seconds, count / c_seconds
        print(f"mbox: {count} messages, {size_mb:.1f} MB; cpus: {os.cpu_count()}")
        print(f"a. emailtrack ingest      {a_seconds:8.2f} s {a_rate:9.0f} msg/s  peak RSS {a_rss_kb / 1024:.0f} MB")
        print(f"   ({a_line})")
        print(f"b. naive mailparser loop  {b_seconds:8.2f} s {b_rate:9.0f} msg/s")
        print(f"c. BytesHeaderParser only {c_seconds:8.2f} s {c_rate:9.0f} msg/s")
        print(f"d. re-ingest unchanged    {d_seconds:8.2f} s   ({d_line})")
        print(f"e. .eml folder ingest     {e_seconds:8.2f} s {eml_count / e_seconds:9.0f} msg/s  ({e_line})")
        print(f"ratios: a/b = {a_rate / b_rate:.2f}x, a/c = {a_rate / c_rate:.3f}x")
        result = {"messages": count, "mbox_mb": round(size_mb, 1), "ingest_msg_s": round(a_rate),
                  "naive_msg_s": round(b_rate), "header_parser_msg_s": round(c_rate),
                  "ratio_ingest_naive": round(a_rate / b_rate, 2), "ratio_ingest_lower_bound": round(a_rate / c_rate, 3),
                  "ingest_peak_rss_mb": round(a_rss_kb / 1024), "reingest_s": round(d_seconds, 2),
                  "eml_folder_msg_s": round(eml_count / e_seconds), "ratio_eml_folder_naive": round(eml_count / e_seconds / b_rate, 2),
                  "workers": args.workers or "default"}
        print("RESULT " + json.dumps(result))
        if args.keep:
            shutil.copytree(workspace, args.keep, dirs_exist_ok=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
