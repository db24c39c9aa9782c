"""The ``emailtrack`` command: argument parsing only; every command is a library call."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from . import __version__
from .errors import EmailtrackError, UsageError

if TYPE_CHECKING:
    from .config.workspace import Workspace

EPILOG = "Exit codes: 0 done, 2 unusable arguments / unknown workspace / unreadable input, 1 other errors."


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one readable line, exit 2 (as argparse, without the usage block)
        self.exit(2, f"emailtrack: error: {message} (see 'emailtrack {self._sub_name()} --help')\n")

    def _sub_name(self) -> str:
        parts = self.prog.split()
        return " ".join(parts[1:]) if len(parts) > 1 else ""


def build_parser() -> argparse.ArgumentParser:
    # Global options are accepted before and after the command; SUPPRESS keeps a subcommand
    # from resetting a value given before it.
    common = _Parser(add_help=False)
    common.add_argument("--workspace", "-w", metavar="DIR", default=argparse.SUPPRESS,
                        help="workspace folder (default: $EMAILTRACK_WORKSPACE, else the current folder)")
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show tracebacks on errors")

    parser = _Parser(prog="emailtrack", description="Email tracking analytics: lead emails per "
                     "point of sale and portal, month by month.", epilog=EPILOG, parents=[common])
    parser.add_argument("--version", action="version", version=f"emailtrack {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("init", parents=[common], help="create a workspace (emailtrack.toml)",
                       description="Write a commented emailtrack.toml into DIR; with --sample, also a "
                       "realistic demo data set in DIR/data/sample/ and a config that matches it.")
    p.add_argument("dir", nargs="?", default=".", metavar="DIR", help="folder (default: current)")
    p.add_argument("--sample", action="store_true", help="also write the demo data set")
    p.add_argument("--end-month", metavar="YYYY-MM", help="last month of the sample (default: last complete month)")
    p.add_argument("--scale", type=float, default=1.0, help="sample volume multiplier (default 1.0)")
    p.add_argument("--force", action="store_true", help="overwrite an existing emailtrack.toml")

    from .ingest.sources import KINDS, ROLES
    p = sub.add_parser("ingest", parents=[common], help="read mbox, EML, Maildir, logs and IMAP mailboxes",
                       description="Read files and folders (recursively), objects of a store "
                       "(s3://BUCKET/PREFIX/: every object under the prefix, or a glob; credentials "
                       "as the AWS tools find them, or --storage-option) and IMAP mailboxes "
                       "(imap://USER@HOST[:PORT]/FOLDER, imaps://…: read-only, only what is new since "
                       "the last run; password in EMAILTRACK_IMAP_PASSWORD or an OAuth2 token printed by "
                       "EMAILTRACK_IMAP_TOKEN_COMMAND). Re-ingesting what is already "
                       "stored adds nothing; prints new / already stored / quarantined counts.")
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="a file, a folder, an s3:// (or other fsspec) URL, or an imap:// or imaps:// URL")
    p.add_argument("--kind", default="auto", choices=KINDS, help="input kind (default: auto, by content)")
    p.add_argument("--role", default="auto", choices=ROLES,
                   help="tracking copies, or a point of sale's own mailbox export (default: auto)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="parser processes (default: number of CPUs)")
    p.add_argument("--starttls", default="auto", choices=("auto", "require", "never"),
                   help="for imap:// URLs: STARTTLS when the server offers it (auto, the default), "
                        "refuse a server without it (require), or never")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="parse on this Dask cluster, whose workers see the paths given (a shared "
                        "filesystem) or read the s3:// URLs themselves; needs pip install "
                        "'emailtrack-analytics[dask]'")
    p.add_argument("--storage-option", action="append", default=[], metavar="KEY=VALUE", dest="storage_options",
                   help="for s3:// (and other fsspec) URLs: an option of the filesystem, e.g. "
                        "endpoint_url=http://minio:9000 or anon=true (repeatable); needs pip install "
                        "'emailtrack-analytics[s3]'")

    from .ops.exports import FORMATS, TABLE_NAMES
    p = sub.add_parser("export", parents=[common], help="write a table as CSV, JSON or Parquet",
                       description="Write one of the contract's tables; CSV to stdout by default.")
    p.add_argument("table", choices=TABLE_NAMES, metavar="TABLE", help=", ".join(TABLE_NAMES))
    p.add_argument("--month", metavar="YYYY-MM", help="only this month (or 'last')")
    p.add_argument("--format", default="csv", choices=FORMATS, dest="fmt", help="csv (default), json or parquet")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    p.add_argument("--partition", choices=["month"], default=None,
                   help="with --format parquet: write the folder FILE as hive partitions month=YYYY-MM/")
    p.add_argument("--personal-data", action="store_true",
                   help="prospects' names, addresses and phones in clear (default: pseudonyms)")

    p = sub.add_parser("report", parents=[common], help="run a report notebook and write HTML",
                       description="Run notebooks/KIND.ipynb with papermill; write the executed notebook "
                       "and a self-contained HTML under OUT/YYYY-MM/.")
    p.add_argument("kind", metavar="KIND", help="report notebook, e.g. monthly")
    p.add_argument("--month", required=True, metavar="YYYY-MM", help="month to report (or 'last')")
    p.add_argument("--point-of-sale", metavar="ID", help="report for one point of sale")
    p.add_argument("--out", metavar="DIR", help="output folder (default: the workspace's reports/)")
    p.add_argument("--send-to", nargs="+", metavar="ADDR", default=[], help="email the report to these addresses")
    p.add_argument("--error-to", nargs="+", metavar="ADDR", default=[], help="email these addresses if the report fails")
    p.add_argument("--resend", action="store_true",
                   help="send again even to recipients who already received these figures")
    p.add_argument("--lang", choices=("fr", "en"), help="report language (default: the workspace's)")
    p.add_argument("--timeout", type=int, default=600, help="seconds a notebook cell may run (default 600)")
    p.add_argument("--allow-empty", action="store_true",
                   help="write the report for a month without data (default: refused, exit 2)")
    # per-point-of-sale emails (reports/per_point_of_sale.py)
    p.add_argument("--per-point-of-sale", action="store_true",
                   help="one report per point of sale (with --send: those with report_to in emailtrack.toml)")
    p.add_argument("--send", action="store_true",
                   help="with --per-point-of-sale: email each point of sale its own report (its report_to)")

    p = sub.add_parser("merge", parents=[common], help="add what other workspaces' databases hold",
                       description="Merge the stored copies, logs and quarantine of other workspaces "
                       "(e.g. ingested on other machines from other files) into this one; only what "
                       "is missing is added; attribution is recomputed from this workspace's config.")
    p.add_argument("databases", nargs="+", metavar="DB", help="a workspace folder or its .duckdb file")

    p = sub.add_parser("forget", parents=[common], help="erase one person's data everywhere (GDPR)",
                       description="Erase one prospect's personal data everywhere (stored bytes, "
                       "details, addresses, subjects, logs, quarantine), keep the anonymous counts, "
                       "and rewrite the database file. Copies ingested later are erased too.")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--email", metavar="ADDRESS", help="the person's email address")
    who.add_argument("--phone", metavar="NUMBER", help="the person's phone number, in any usual form")
    p.add_argument("--dry-run", action="store_true", help="count what would be erased, change nothing")

    p = sub.add_parser("purge", parents=[common], help="erase personal data older than a month (retention)",
                       description="Erase the personal data of everything dated before a month, "
                       "keeping the anonymous counts, and rewrite the database file.")
    p.add_argument("--before", metavar="YYYY-MM",
                   help="first month to keep (default: retention_months in [workspace] back from now)")
    p.add_argument("--dry-run", action="store_true", help="count what would be erased, change nothing")

    p = sub.add_parser("status", parents=[common], help="what is stored: sources, messages, leads per month",
                       description="Sources, messages, leads per month, quarantined and unattributed copies, "
                       "configuration problems. With --deployment: per point of sale, the set-up modes live "
                       "(lead copies in the last 30 days), since when, the last copy, failed forwards and alerts.")
    p.add_argument("--deployment", action="store_true",
                   help="per point of sale: set-up modes live, since when, last copy, failed forwards, alerts")
    p.add_argument("--point-of-sale", metavar="ID", help="with --deployment: only this point of sale")
    p.add_argument("--as-of", metavar="YYYY-MM-DD", type=_day,
                   help="with --deployment: the day to judge as of (default: the last copy that reached tracking)")
    p.add_argument("--format", default="text", choices=("text", "json"), dest="fmt",
                   help="with --deployment: text (default) or json")
    p = sub.add_parser("senders", parents=[common], help="senders of the copies no portal rule recognised",
                       description="Senders, domains and display names of the copies at tracked addresses "
                       "that are unattributed, 'other' or from a sender the catalogue does not list, by "
                       "volume, with sample subjects, a suggested portal and the TOML to add.")
    p.add_argument("--month", metavar="YYYY-MM", help="only this month (or 'last')")
    p.add_argument("--format", default="text", choices=("text", "csv", "json"), dest="fmt",
                   help="text (default), csv or json")
    p.add_argument("--limit", type=int, default=50, help="domains shown (default 50)")
    p.add_argument("--personal-data", action="store_true",
                   help="senders' addresses and names in clear (default: pseudonyms for people)")
    sub.add_parser("portals", parents=[common], help="list the portal catalogue with the workspace's changes",
                   description="The built-in portal catalogue merged with the workspace's [[portals]].")

    p = sub.add_parser("addresses", parents=[common], help="issue tracked addresses",
                       description="Manage the tracked addresses of emailtrack.toml.")
    actions = p.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser, required=True)
    a = actions.add_parser("add", parents=[common], help="issue a new tracked address",
                           description="Issue a new tracked address on the [tracking] domain for a point of "
                           "sale (for one portal with --portal), write it into emailtrack.toml keeping its "
                           "comments, and print it.")
    a.add_argument("--point-of-sale", required=True, metavar="ID", help="the point of sale it belongs to")
    a.add_argument("--portal", metavar="P",
                   help="reserve it for this portal (a [[tracked_addresses]] entry; default: every portal)")

    p = sub.add_parser("setup", parents=[common], help="write the set-up kit of each point of sale",
                       description="Write DIR/<point_of_sale>/: index.html and index.md (its tracked addresses "
                       "and the steps of every configuration: Gmail, Outlook on the web / Microsoft 365, "
                       "Outlook for Windows, Apple Mail, Sieve, copy on the portal, multi-distribution), "
                       "gmail-filters.xml, outlook-rule.ps1 and forward.sieve.")
    p.add_argument("--point-of-sale", metavar="ID", help="only this point of sale (default: every one)")
    p.add_argument("--out", metavar="DIR", help="output folder (default: the workspace's setup/)")
    p.add_argument("--language", choices=("fr", "en"), help="language of the pages (default: the workspace's)")
    return parser


def main(argv: list[str] | None = None) -> int:
    # everything a command creates (database, its WAL and spill files, reports, exports) may hold
    # prospects' personal data: readable by the owner only
    os.umask(0o077)
    parser = build_parser()
    args = parser.parse_args(argv)
    args.workspace = getattr(args, "workspace", None)
    args.debug = getattr(args, "debug", False)
    if not args.command:
        parser.print_help(sys.stderr)
        return 2
    try:
        return _run(args)
    except EmailtrackError as exc:
        if args.debug:
            raise
        print(f"emailtrack: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # output piped into head & co: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("emailtrack: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the contract wants one line, not a traceback
        if args.debug:
            raise
        print(f"emailtrack: error: {_one_line(exc)} (run with --debug for details)", file=sys.stderr)
        return 1


def _one_line(exc: Exception) -> str:
    """An unexpected error in one line; DuckDB running out of its memory limit says which setting
    raises it (DuckDB's own advice, ``SET memory_limit``, is not the user's to follow)."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if type(exc).__name__ == "OutOfMemoryException":
        from . import settings
        return (f"the database ran out of the memory it may use ({first}); EMAILTRACK_DB_MEMORY is "
                f"{settings.db_memory()}: run the command again with more, e.g. EMAILTRACK_DB_MEMORY=1GB "
                "(what was stored before is kept)")
    return f"{type(exc).__name__}: {first}"


def _run(args: argparse.Namespace) -> int:
    from . import settings
    from .config.workspace import open_workspace

    settings.validate()
    if args.command == "init":
        _init(args)
        return 0
    workspace = open_workspace(args.workspace)
    command = _COMMANDS.get(args.command)
    if command is None:
        raise UsageError(f"unknown command {args.command!r}")
    command(workspace, args)
    return 0


def _init(args: argparse.Namespace) -> None:
    from .ops.init import init_workspace
    root = init_workspace(Path(args.dir), sample=args.sample, end_month=args.end_month,
                          scale=args.scale, force=args.force)
    print(f"workspace ready: {root / 'emailtrack.toml'}")
    if args.sample:
        print(f"sample data in {root / 'data' / 'sample'}; next: emailtrack -w {root} ingest "
              f"{root / 'data' / 'sample'}")


def _ingest(workspace: Workspace, args: argparse.Namespace) -> None:
    from .ingest.pipeline import ingest
    from .ingest.sources.remote import storage_options
    if args.workers is not None and args.workers < 1:
        raise UsageError("--workers must be at least 1")
    summary = ingest(workspace, args.paths, kind=args.kind, role=args.role,
                     workers=args.workers, progress=True, scheduler=args.scheduler, starttls=args.starttls,
                     storage_options=storage_options(args.storage_options))
    print(summary.line())
    for note in summary.notes:
        print(note)


def _export(workspace: Workspace, args: argparse.Namespace) -> None:
    from .config.months import resolve_month
    from .ops.exports import export
    count = export(workspace, args.table, month=resolve_month(args.month, workspace.timezone),
                   fmt=args.fmt, out=args.output, partition=args.partition,
                   personal_data=args.personal_data)
    if args.output:
        print(f"{count} rows written to {args.output}", file=sys.stderr)


def _report(workspace: Workspace, args: argparse.Namespace) -> None:
    from .config.months import resolve_month
    from .reports.runner import run_report
    month = resolve_month(args.month, workspace.timezone)
    assert month is not None, "the parser requires --month for a report"
    if args.per_point_of_sale or args.send:
        _report_per_point_of_sale(workspace, args, month)
        return
    result = run_report(workspace, args.kind, month,
                        point_of_sale=args.point_of_sale, out=args.out, send_to=args.send_to,
                        error_to=args.error_to, language=args.lang, timeout=args.timeout,
                        resend=args.resend, allow_empty=args.allow_empty)
    print(result.html)
    if result.sent_to:
        print(f"sent to {', '.join(result.sent_to)}", file=sys.stderr)
    if result.already_sent:
        print(f"not sent again: {', '.join(result.already_sent)} already received these figures "
              "(--resend to send anyway)", file=sys.stderr)


def _report_per_point_of_sale(workspace: Workspace, args: argparse.Namespace, month: str) -> None:
    from .reports.per_point_of_sale import run_per_point_of_sale
    if not args.per_point_of_sale or args.point_of_sale or args.send_to:
        raise UsageError("--send goes with --per-point-of-sale (each point of sale's report to its report_to); "
                         "--per-point-of-sale takes neither --point-of-sale nor --send-to")
    for point_of_sale, result in run_per_point_of_sale(
            workspace, args.kind, month, send=args.send, out=args.out, error_to=args.error_to,
            language=args.lang, timeout=args.timeout, resend=args.resend, allow_empty=args.allow_empty):
        if result is None:
            print(f"{point_of_sale}: no data in {month}, skipped (--allow-empty to write it anyway)",
                  file=sys.stderr)
            continue
        print(result.html)
        if result.sent_to:
            print(f"{point_of_sale}: sent to {', '.join(result.sent_to)}", file=sys.stderr)
        if result.already_sent:
            print(f"{point_of_sale}: not sent again to {', '.join(result.already_sent)} (--resend to send anyway)",
                  file=sys.stderr)


def _merge(workspace: Workspace, args: argparse.Namespace) -> None:
    from .ops.merge import merge
    print(merge(workspace, args.databases).line())


def _forget(workspace: Workspace, args: argparse.Namespace) -> None:
    from .ops import privacy
    print(privacy.forget(workspace, email=args.email, phone=args.phone, dry_run=args.dry_run).line())


def _purge(workspace: Workspace, args: argparse.Namespace) -> None:
    from .ops import privacy
    print(privacy.purge(workspace, before=args.before, dry_run=args.dry_run).line())


def _status(workspace: Workspace, args: argparse.Namespace) -> None:
    from .ops.status import deployment_status, workspace_status
    if not args.deployment:
        if args.point_of_sale or args.as_of or args.fmt != "text":
            raise UsageError("--point-of-sale, --as-of and --format go with --deployment")
        print("\n".join(workspace_status(workspace).lines()))
        return
    from .analytics.deployment import as_json, lines
    found = deployment_status(workspace, args.point_of_sale, args.as_of)
    print(as_json(found) if args.fmt == "json" else "\n".join(lines(found, workspace)))


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a day (YYYY-MM-DD): {text!r}") from None


def _senders(workspace: Workspace, args: argparse.Namespace) -> None:
    from .analytics.senders import lines, unrecognised_senders
    from .config.months import resolve_month
    groups = unrecognised_senders(workspace, resolve_month(args.month, workspace.timezone),
                                  personal_data=args.personal_data, limit=args.limit)
    if args.fmt == "text":
        print("\n".join(lines(groups)))
    else:
        import pandas as pd
        frame = pd.DataFrame([g.as_row() for g in groups])
        print(frame.to_csv(index=False) if args.fmt == "csv" else frame.to_json(orient="records", force_ascii=False))


def _portals(workspace: Workspace, args: argparse.Namespace) -> None:
    from .config.catalogue import merged_portals
    for portal in merged_portals(workspace.portals):
        origin = "built-in" if portal.builtin else "workspace"
        print(f"{portal.id:<14} {portal.kind:<8} {origin:<9} {', '.join(portal.senders)}")


def _addresses(workspace: Workspace, args: argparse.Namespace) -> None:
    from .ops.addresses import add_tracked_address
    issued = add_tracked_address(workspace, args.point_of_sale, args.portal)
    print(issued.address)
    print(f"written to {workspace.config_path}: {issued.written_to}; next: emailtrack setup --point-of-sale "
          f"{issued.point_of_sale}", file=sys.stderr)


def _setup(workspace: Workspace, args: argparse.Namespace) -> None:
    from .ops.setup import write_setup_kits
    result = write_setup_kits(workspace, args.point_of_sale, out=args.out, language=args.language)
    for folder in result.folders:
        print(folder / "index.html")
    if result.without_address:
        print(f"no kit for {', '.join(result.without_address)}: no tracked address "
              "(emailtrack addresses add --point-of-sale ID)", file=sys.stderr)


# every command but init, which creates the workspace the others open
_COMMANDS: dict[str, Callable[[Workspace, argparse.Namespace], None]] = {
    "ingest": _ingest, "export": _export, "report": _report, "merge": _merge, "forget": _forget,
    "purge": _purge, "status": _status, "senders": _senders, "portals": _portals,
    "addresses": _addresses, "setup": _setup,
}
