"""Per-message parse CPU: the full parser against the fast path, on the same messages.

    python benchmarks/parse.py [--mbox PATH | --messages 20000] [--limit N] [--repeats 3]

Reads the messages of one mbox (``--mbox``, read only; else one built from the sample generator
as benchmarks/ingest.py builds it) into memory, then measures, in this process, the CPU time per
message (``time.process_time``, the best of ``--repeats`` runs, the variants interleaved so that
a busy machine slows them alike) of:

  a. ``parse_message(raw, fast=False)``: the standard library's parser and the record;
  b. ``parse_message(raw)``: the fast path where it reads the message, else the same as a;
  c. the MIME walk alone: ``fastmime.BytesParser`` against ``fastpath.split``;
  d. ``fast_mail_parser.parse_email_tree`` (Rust), when it is installed: for scale only, it
     does not give the facts the record needs (docs/scaling.md, "Parsing fast path").

Also counts the messages the fast path reads and checks both records are equal. Prints a
table, then one JSON line (``RESULT {...}``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from email import policy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def build_mbox(folder: Path, messages: int) -> Path:
    """One mbox of about ``messages`` sample messages (as benchmarks/ingest.py builds it)."""
    from emailtrack_analytics.demo.sample import write_sample
    info = write_sample(folder / "ws", end_month="2026-10", scale=messages / 10_000)
    big = folder / "all.mbox"
    with open(big, "wb") as out:
        for month in sorted((info.data_dir / "tracking").glob("*.mbox")):
            out.write(month.read_bytes())
    shutil.rmtree(info.data_dir)
    return big


def best_of(repeats: int, variants: dict[str, Callable[[], object]]) -> dict[str, float]:
    """The least CPU seconds each variant took, the variants run in turn ``repeats`` times."""
    best = {name: float("inf") for name in variants}
    for _ in range(repeats):
        for name, run in variants.items():
            start = time.process_time()
            run()
            best[name] = min(best[name], time.process_time() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mbox", type=Path, help="an mbox to read (default: one built from the sample)")
    parser.add_argument("--messages", type=int, default=20_000, help="size of the built mbox")
    parser.add_argument("--limit", type=int, default=None, help="parse only the first N messages")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from emailtrack_analytics.ingest.parsing import fastmime, fastpath
    from emailtrack_analytics.ingest.parsing.message import Unparseable, _message_bytes, message_key, parse_message
    from emailtrack_analytics.ingest.sources.mbox import read_mbox

    folder = None
    path = args.mbox
    if path is None:
        folder = Path(tempfile.mkdtemp(prefix="emailtrack-parse-"))
        path = build_mbox(folder, args.messages)
    try:
        read = [m for m in read_mbox(path, path.name) if m.problem is None]
        read = read[:args.limit] if args.limit else read
        items = [(m.data, m.from_line, message_key(m.data)) for m in read]
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    stripped, refused = [], 0
    for raw, from_line, _ in items:
        try:
            stripped.append(_message_bytes(raw, from_line)[0])
        except Unparseable:
            refused += 1
    full_parser = fastmime.BytesParser(policy=policy.compat32)

    def parse_all(fast: bool) -> Callable[[], object]:
        def run() -> list[object]:
            out: list[object] = []
            for raw, from_line, key in items:
                try:
                    out.append(parse_message(raw, from_line=from_line, key=key, fast=fast))
                except Unparseable as exc:
                    out.append(exc.reason)
            return out
        return run

    fast_count = sum(fastpath.split(data) is not None for data in stripped)
    differing = sum(a != b for a, b in zip(parse_all(True)(), parse_all(False)(), strict=True))
    variants: dict[str, Callable[[], object]] = {
        "a. full parser": parse_all(False),
        "b. fast path": parse_all(True),
        "c. MIME walk, stdlib": lambda: [full_parser.parsebytes(data) for data in stripped],
        "c. MIME walk, fastpath.split": lambda: [fastpath.split(data) for data in stripped],
    }
    try:
        import fast_mail_parser  # type: ignore[import-not-found]  # optional: for scale only
        variants["d. fast-mail-parser tree"] = lambda: [fast_mail_parser.parse_email_tree(data) for data in stripped]
    except ImportError:
        print("d. fast-mail-parser: not installed (pip install fast-mail-parser to compare)")
    best = best_of(args.repeats, variants)
    count = len(items)
    per_message = {name: seconds / count * 1e6 for name, seconds in best.items()}
    print(f"{path}: {count} messages, {fast_count} read by the fast path ({fast_count / count:.1%}), "
          f"{refused} refused before parsing, {differing} records differing")
    for name, micros in per_message.items():
        print(f"{name:32} {micros:8.0f} µs/msg")
    speedup = per_message["a. full parser"] / per_message["b. fast path"]
    print(f"fast path: {speedup:.2f}x the full parser")
    print("RESULT " + json.dumps({"messages": count, "fast_path": fast_count, "refused": refused,
                                  "differing": differing, "us_per_message": per_message, "speedup": speedup}))
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
