"""Ingest speed and memory, against baselines measured in the same run.

    python benchmarks/ingest.py [--messages 20000] [--workers N] [--keep DIR]

Builds one mbox of about N messages from the sample generator (leads and non-leads, multipart,
HTML, attachments, inline and attached forwards), then measures:

  a. ``emailtrack ingest`` end to end (parse, attribute, store in DuckDB), in a subprocess;
  b. the naive notebook loop: ``mailbox.mbox`` + ``mailparser.parse_from_bytes``, nothing stored;
  c. a lower bound: the stdlib ``BytesHeaderParser`` over the same messages;
  d. re-ingesting the same, unchanged file (the ledger skips it);
  e. the same messages as a folder of single-message ``.eml`` files (100 sub-folders), in a
     fresh workspace: the shape of an export from Outlook or a Maildir;
  f. ``mbox-to-sqlite`` (stdlib parse into SQLite) on the same mbox, and
  g. ``perceval mbox`` (GrimoireLab's reader, JSON items to /dev/null): generic tools a user
     might reach for, installed by this script in a throwaway venv (``--baselines-venv``,
     default ~/.cache/emailtrack-bench/baselines); skipped with a message when they cannot be
     installed (no network).

Each command's wall time and peak RSS (its own process, by GNU time) are measured the same way. Prints a table, then one JSON line (``RESULT {...}``) that a script can read.
"""

from __future__ import annotations

import argparse
import json
import mailbox
import os
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


TIME = Path("/usr/bin/time")  # GNU time: the command's own peak RSS (%M, kB)


def timed(command: list[str], discard_output: bool = False) -> tuple[float, int, str]:
    """Wall seconds, peak RSS of the command's own process (kB) and its stdout (none when
    ``discard_output``). The peak comes from GNU time when installed: a child forked from this
    process would count this process's memory at the fork as its own (Linux keeps the high-water
    mark across exec), and this process holds the generated mail. Without it, from ``wait4``,
    which has that bias."""
    wrapped = [str(TIME), "-f", "%M", *command] if TIME.exists() else command
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(wrapped, stdout=subprocess.DEVNULL if discard_output else out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        errors = err.read().decode(errors="replace")
        if os.waitstatus_to_exitcode(status):
            raise RuntimeError(f"{command[0]} exited {os.waitstatus_to_exitcode(status)}: {errors[-500:]}")
        peak = int(errors.strip().splitlines()[-1]) if TIME.exists() else usage.ru_maxrss
        return seconds, peak, out.read().decode(errors="replace").strip()


def run_ingest(workspace: Path, path: Path, workers: int | None) -> tuple[float, int, str]:
    """Wall seconds, peak RSS of the main process (kB) and its summary line."""
    command = [sys.executable, "-m", "emailtrack_analytics", "--workspace", str(workspace), "ingest", str(path)]
    if workers:
        command += ["--workers", str(workers)]
    return timed(command)


BASELINE_PACKAGES = ("mbox-to-sqlite", "perceval")


def baselines_venv(folder: Path) -> Path | None:
    """A venv holding the baseline tools (made once, then reused); None when pip cannot install them."""
    python = folder / "bin" / "python"
    if not (folder / "bin" / "mbox-to-sqlite").exists() or not (folder / "bin" / "perceval").exists():
        try:
            subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, capture_output=True)
            subprocess.run([str(python), "-m", "pip", "install", "--quiet", *BASELINE_PACKAGES], check=True,
                           capture_output=True, timeout=900)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            detail = getattr(exc, "stderr", b"") or b""
            print(f"baselines skipped: cannot install {', '.join(BASELINE_PACKAGES)} "
                  f"({detail.decode(errors='replace').strip().splitlines()[-1:] or exc})")
            return None
    return folder / "bin"


def readable_by_mbox_to_sqlite(path: Path, folder: Path) -> tuple[Path, int]:
    """The mbox without the messages mbox-to-sqlite stops on (the whole run fails on the first):
    a header with raw 8-bit bytes reads as an ``email.header.Header`` (compat32), which SQLite
    cannot bind; a message without Message-ID has no primary key for its upsert. Returns the
    reduced mbox and how many messages it left out."""
    from email.header import Header
    kept, left_out = mailbox.mbox(folder / "for-mbox-to-sqlite.mbox"), 0
    kept.lock()
    try:
        for message in mailbox.mbox(path, create=False):
            if message["Message-ID"] is None or any(isinstance(value, Header) for value in message.values()):
                left_out += 1
            else:
                kept.add(message)
        kept.flush()
    finally:
        kept.unlock()
    return folder / "for-mbox-to-sqlite.mbox", left_out


def mbox_to_sqlite(bin_dir: Path, path: Path, folder: Path) -> tuple[float, int, int]:
    """Seconds and peak RSS over the messages it can read, and how many it cannot (left out)."""
    reduced, left_out = readable_by_mbox_to_sqlite(path, folder)
    seconds, peak, _ = timed([str(bin_dir / "mbox-to-sqlite"), "mbox", str(folder / "mbox.db"), str(reduced)])
    return seconds, peak, left_out


def perceval(bin_dir: Path, path: Path, folder: Path) -> tuple[float, int, int]:
    """perceval's mbox backend reads every mbox of a folder and writes one JSON item per message."""
    source = folder / "perceval-mboxes"
    source.mkdir(exist_ok=True)
    (source / path.name).symlink_to(path)
    seconds, peak, _ = timed([str(bin_dir / "perceval"), "mbox", "https://example.invalid/archive", str(source)],
                             discard_output=True)
    return seconds, peak, 0


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
    parser.add_argument("--baselines-venv", type=Path, default=Path.home() / ".cache" / "emailtrack-bench" / "baselines",
                        help="where mbox-to-sqlite and perceval are installed (made when missing)")
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
        baselines: dict[str, object] = {}
        bin_dir = baselines_venv(args.baselines_venv)
        if bin_dir is not None:
            for label, name, run in (("f", "mbox_to_sqlite", mbox_to_sqlite), ("g", "perceval", perceval)):
                seconds, peak, left_out = run(bin_dir, big, folder)
                rate = (count - left_out) / seconds  # per message it read
                baselines[f"{name}_msg_s"] = round(rate)
                baselines[f"{name}_peak_rss_mb"] = round(peak / 1024)
                baselines[f"{name}_left_out"] = left_out
                baselines[f"ratio_ingest_{name}"] = round(a_rate / rate, 2)
                print(f"{label}. {name.replace('_', '-'):<22}{seconds:8.2f} s {rate:9.0f} msg/s  "
                      f"peak RSS {peak / 1024:.0f} MB" + (f"  ({left_out} messages it stops on left out)"
                                                           if left_out else ""))
        print(f"ratios: a/b = {a_rate / b_rate:.2f}x, a/c = {a_rate / c_rate:.3f}x"
              + "".join(f", a/{k.removeprefix('ratio_ingest_')} = {v}x" for k, v in baselines.items()
                        if k.startswith("ratio_")))
        result = {**baselines, "messages": count, "mbox_mb": round(size_mb, 1), "ingest_msg_s": round(a_rate),
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
