"""``emailtrack ingest imap://…`` against a real Dovecot on loopback, and the same mail as an mbox.

    python benchmarks/imap.py [--messages 5000] [--workers N]

Builds one mbox of about N messages from the sample generator, appends them to a Dovecot
mailbox (the test suite's server, ``tests/ingest/dovecot.py``: needs ``dovecot-imapd``), then
measures, each command in a subprocess with its wall time and peak RSS:

  a. the first read of the mailbox (every message fetched in batches, parsed, stored);
  b. the next run, nothing new (one listing of the UIDs above the last one stored);
  c. a run after 1 % more messages arrived (what an hourly run does);
  d. the same mbox read from the file in a fresh workspace: the baseline, the cost of the
     parse and store alone.

Loopback has no latency: over a real network, (a) and (c) add a round trip per batch of 200
messages and the transfer time. Prints a table, then one JSON line (``RESULT {...}``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from ingest import build_mbox, timed  # noqa: E402 - benchmarks/ingest.py, beside this file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()

    from emailtrack_analytics.ingest.sources.mbox import read_mbox
    from tests.ingest.dovecot import DOVECOT, DovecotServer, TokenIntrospection
    if DOVECOT is None:
        sys.exit("Dovecot's IMAP server is not installed (apt-get install dovecot-imapd)")

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        workspace, big, count = build_mbox(folder, args.messages)
        messages = [raw.data for raw in read_mbox(big, "all")]
        later, messages = messages[-max(1, len(messages) // 100):], messages[:-max(1, len(messages) // 100)]
        introspection = TokenIntrospection()
        server = DovecotServer(introspection)
        try:
            user, password = "leads@trk.example.net", "benchmark-password"
            server.add_user(user, password)
            started = time.perf_counter()
            imap = server.client(user, password)
            for message in messages:
                imap.append("INBOX", None, None, message)
            imap.logout()
            appended = time.perf_counter() - started
            url = f"imap://{urllib.parse.quote(user, safe='')}@127.0.0.1:{server.port}/INBOX"
            os.environ["EMAILTRACK_IMAP_PASSWORD"] = password
            os.environ["EMAILTRACK_IMAP_CA_FILE"] = str(server.ca_file)

            def ingest(ws: Path, path: str) -> tuple[float, int, str]:
                command = [sys.executable, "-m", "emailtrack_analytics", "--workspace", str(ws), "ingest", path]
                return timed(command + (["--workers", str(args.workers)] if args.workers else []))

            first = ingest(workspace, url)
            nothing_new = ingest(workspace, url)
            imap = server.client(user, password)
            for message in later:
                imap.append("INBOX", None, None, message)
            imap.logout()
            hourly = ingest(workspace, url)
        finally:
            server.stop()
            introspection.close()
        del os.environ["EMAILTRACK_IMAP_CA_FILE"], os.environ["EMAILTRACK_IMAP_PASSWORD"]
        fresh = folder / "fresh"
        fresh.mkdir()
        (fresh / "emailtrack.toml").write_bytes((workspace / "emailtrack.toml").read_bytes())
        from_file = ingest(fresh, str(big))

    rows = [("a. first read over IMAP", first, len(messages)), ("b. next run, nothing new", nothing_new, 0),
            (f"c. after {len(later)} more arrived", hourly, len(later)), ("d. the same mbox from a file", from_file, count)]
    print(f"{count} messages ({big.name}), {len(messages)} appended to Dovecot in {appended:.1f} s, "
          f"{len(later)} more later; workers: {args.workers or 'default'}")
    print(f"{'run':34} {'seconds':>8} {'msg/s':>8} {'peak MB':>8}  summary")
    for name, (seconds, peak, summary), read in rows:
        rate = f"{read / seconds:8.0f}" if read else f"{'-':>8}"
        print(f"{name:34} {seconds:8.2f} {rate} {peak / 1024:8.0f}  {summary.splitlines()[0] if summary else ''}")
    print("RESULT " + json.dumps({"messages": count, **{name.split(".")[0]: {"seconds": round(s, 2), "peak_kb": p}
                                                        for name, (s, p, _), _ in rows}}))


if __name__ == "__main__":
    main()
