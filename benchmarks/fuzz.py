"""The long hostile-input run (``make fuzz``): property tests with thousands of examples, then
ingests of 2 GB hostile files with their peak memory.

    python benchmarks/fuzz.py [--examples 5000] [--gb 2] [--skip-fuzz] [--skip-files]

1. ``tests/robustness/test_fuzz.py`` under the hypothesis profile ``long`` (HYPOTHESIS_PROFILE=long,
   ``--examples`` per property instead of CI's fixed budget, random instead of derandomized);
   the examples run are counted from hypothesis' statistics.
2. ``emailtrack ingest`` in a child process, one file at a time, each into the same workspace:
   an mbox whose first message is one line of ``--gb`` GB (a sparse file of NUL bytes: no disk
   used); an mbox whose first message is ``--gb`` GB of ordinary 76-character lines; a Postfix
   log with one line of ``--gb`` GB. Each is followed by an ordinary message or line, which must
   be stored; the huge item must be quarantined ``too_large``. The child's own peak resident
   memory (VmHWM) must stay flat whatever the size.

Prints a table, then one JSON line (``RESULT {...}``) that a script can read. Exits 1 when a
property fails or a file is not read as expected.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.builders import lead  # noqa: E402
from tests.robustness.test_hostile import _PEAK, write_long_line_log, write_long_line_mbox  # noqa: E402

GB = 1024 ** 3


def run_fuzz(examples: int) -> dict:
    """The property tests with ``examples`` examples each: passed, failed, examples run."""
    env = dict(os.environ, HYPOTHESIS_PROFILE="long", HYPOTHESIS_EXAMPLES=str(examples))
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "tests/robustness/test_fuzz.py", "-q", "-p", "no:cacheprovider",
                           "--hypothesis-show-statistics"], capture_output=True, text=True, cwd=ROOT, env=env)
    seconds = time.perf_counter() - started
    output = done.stdout + done.stderr
    counts = re.findall(r"- (\d+) passing, (\d+) failing", output)
    ran = sum(int(passing) + int(failed) for passing, failed in counts)
    failing = sum(int(failed) for _, failed in counts)
    summary = (re.findall(r"^=*\s*(\d+ (?:passed|failed).*?) in [\d.]+s", output, re.M) or [output[-300:]])[-1]
    if done.returncode != 0:
        print(output[-6000:])
    return {"ok": done.returncode == 0, "summary": summary.strip(" ="), "examples_run": ran,
            "failing_examples": failing, "seconds": round(seconds, 1)}


def write_big_message_mbox(path: Path, size: int) -> None:
    """An mbox whose first message holds ``size`` bytes of base64-like lines, then a lead."""
    line = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\n"
    block = line * (1 << 14)
    with open(path, "wb") as out:
        out.write(b"From MAILER-DAEMON Thu Mar 12 18:00:11 2026\n" + lead(message_id="<big@x>"))
        written = 0
        while written < size:
            out.write(block)
            written += len(block)
        out.write(b"\nFrom MAILER-DAEMON Thu Mar 12 18:01:11 2026\n" + lead(message_id="<after-big@x>") + b"\n")


def ingest_one(workspace: Path, path: Path) -> dict:
    """``emailtrack ingest PATH`` in a child: seconds, its summary line, its peak RSS."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _PEAK, "--workspace", str(workspace), "ingest", str(path),
                           "--workers", "1"], capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - started
    if done.returncode != 0 or "PEAK_KB" not in done.stdout:
        return {"ok": False, "error": done.stderr[-2000:], "seconds": round(seconds, 1)}
    summary, peak = done.stdout.split("PEAK_KB")
    return {"seconds": round(seconds, 1), "summary": summary.strip(), "peak_rss_mb": round(int(peak) / 1024),
            "mb_s": round(path.stat().st_size / 1024 ** 2 / seconds)}


def run_files(gb: float) -> dict:
    from emailtrack_analytics.config.workspace import open_workspace
    from tests.conftest import BASIC_CONFIG, write_config

    size = int(gb * GB)
    folder = Path(tempfile.mkdtemp(prefix="emailtrack-fuzz-"))
    results = {}
    try:
        write_config(folder / "ws", BASIC_CONFIG)
        workspace = open_workspace(folder / "ws").root
        cases = {
            "line_mbox": (write_long_line_mbox, "1 new, 0 already stored, 1 quarantined"),
            "message_mbox": (write_big_message_mbox, "1 new, 0 already stored, 1 quarantined"),
            "line_postfix": (write_long_line_log, "0 new, 0 already stored, 1 quarantined, 2 log rows"),
        }
        for name, (writer, expected) in cases.items():
            path = folder / f"{name}.{'log' if 'postfix' in name else 'mbox'}"
            started = time.perf_counter()
            writer(path, size)
            written = time.perf_counter() - started
            figures = ingest_one(workspace, path)
            figures["write_seconds"] = round(written, 1)
            figures.setdefault("ok", figures.get("summary", "").startswith(expected))
            figures["file_gb"] = round(path.stat().st_size / GB, 2)
            path.unlink()
            results[name] = figures
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=5000,
                        help="examples per property (default 5000; scaled like the CI budgets of test_fuzz.py)")
    parser.add_argument("--gb", type=float, default=2.0, help="size of the huge line and message (default 2)")
    parser.add_argument("--skip-fuzz", action="store_true")
    parser.add_argument("--skip-files", action="store_true")
    args = parser.parse_args()

    result: dict = {"examples_per_property": args.examples, "gb": args.gb}
    if not args.skip_fuzz:
        fuzz = run_fuzz(args.examples)
        result["fuzz"] = fuzz
        print(f"fuzz: {fuzz['summary']}; {fuzz['examples_run']} examples run in {fuzz['seconds']} s")
    if not args.skip_files:
        files = run_files(args.gb)
        result["files"] = files
        for name, figures in files.items():
            if "summary" in figures:
                print(f"{name:13} {figures['file_gb']:5} GB  {figures['seconds']:7} s  {figures['mb_s']:5} MB/s  "
                      f"peak RSS {figures['peak_rss_mb']} MB  ({figures['summary']})  {'ok' if figures['ok'] else 'UNEXPECTED'}")
            else:
                print(f"{name:13} FAILED: {figures['error']}")
    ok = result.get("fuzz", {}).get("ok", True) and all(f["ok"] for f in result.get("files", {}).values())
    result["ok"] = ok
    print("RESULT " + json.dumps(result))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
