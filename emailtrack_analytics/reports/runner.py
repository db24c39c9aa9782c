"""``emailtrack report KIND``: run ``notebooks/KIND.ipynb`` with papermill, export HTML, send it.

The kernel is pinned to ``python3`` (the environment emailtrack runs in) and parameters are
passed as strings. Outputs go to ``OUT/YYYY-MM/KIND[-point_of_sale].{ipynb,html}`` plus
``.summary.json`` with the key figures the notebook recorded. The executed notebook keeps its
figures as JSON without plotly.js; the HTML carries the library once (``html.page_scripts``).
A month with no data is refused before anything runs or is written, unless ``allow_empty``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from .. import settings
from ..analytics.api import Analytics
from ..attribution.refresh import refresh_attribution
from ..config.workspace import Workspace
from ..errors import Busy, EmailtrackError, UsageError
from ..store.db import connect
from .html import SUMMARY_MIME, figure_types, page_scripts, used_styles, without_library

KERNEL = "python3"


@dataclass
class ReportResult:
    notebook: Path
    html: Path
    summary: Path | None
    figures: dict[str, Any]
    seconds: float
    sent_to: tuple[str, ...] = ()
    already_sent: tuple[str, ...] = ()


def notebook_path(workspace: Workspace, kind: str) -> Path:
    """The notebook for a report kind: the workspace's own ``notebooks/`` first, then
    ``$EMAILTRACK_NOTEBOOKS``, then the project's ``notebooks/`` (a source checkout), then the
    copies the wheel carries inside the package."""
    if not kind.replace("-", "").replace("_", "").isalnum():
        raise UsageError(f"invalid report kind {kind!r}")
    candidates = [workspace.root / "notebooks"]
    configured = settings.notebooks_dir()
    if configured is not None:
        candidates.append(configured)
    candidates.append(Path(__file__).resolve().parents[2] / "notebooks")
    candidates.append(Path(str(resources.files("emailtrack_analytics") / "reports" / "notebooks")))
    for folder in candidates:
        if (folder / f"{kind}.ipynb").is_file():
            return folder / f"{kind}.ipynb"
    known = sorted({p.stem for folder in candidates if folder.is_dir() for p in folder.glob("*.ipynb")})
    raise UsageError(f"no report notebook {kind}.ipynb (available: {', '.join(known) or 'none'})")


def run_report(workspace: Workspace, kind: str, month: str, *, point_of_sale: str | None = None,
               out: str | os.PathLike[str] | None = None, send_to: Sequence[str] = (),
               error_to: Sequence[str] = (), language: str | None = None, timeout: int = 600,
               resend: bool = False, allow_empty: bool = False) -> ReportResult:
    """Run one report; on failure, tell ``error_to`` (if given) before raising.

    Safe from cron: one run at a time per output folder (a lock), outputs rewritten in place,
    and the email not sent again to recipients who already received these same figures.
    Refused (``UsageError``, exit 2) before anything is written: an unknown report kind or point
    of sale, mail that cannot be sent, and a month without data unless ``allow_empty``.
    """
    folder = (Path(out).resolve() if out else workspace.reports_dir) / month
    try:
        source = _prepare(workspace, kind, month, point_of_sale, bool(send_to), allow_empty)
        folder.mkdir(parents=True, exist_ok=True)
        with _run_lock(folder.parent):
            return _run(workspace, kind, month, folder, source, point_of_sale, list(send_to), language,
                        timeout, resend)
    except (EmailtrackError, Exception) as exc:
        if error_to and not isinstance(exc, KeyboardInterrupt):
            from .mailer import send_failure
            send_failure(workspace, kind, month, list(error_to), exc, folder, point_of_sale)
        raise


@contextlib.contextmanager
def _run_lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on the reports folder: a second run waits for the first, up to
    ``EMAILTRACK_LOCK_WAIT`` seconds (default 600), then gives up (exit 2)."""
    folder.mkdir(parents=True, exist_ok=True)
    wait = settings.lock_wait()
    with open(folder / ".emailtrack-report.lock", "w") as handle:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise Busy(f"another report is being written in {folder}; try again later") from None
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _prepare(workspace: Workspace, kind: str, month: str, point_of_sale: str | None, sending: bool,
             allow_empty: bool) -> Path:
    """Everything that may refuse the run, before it writes anything: the notebook, the point of
    sale, the mail settings, data for the month. Brings the attribution up to date first."""
    source = notebook_path(workspace, kind)
    if point_of_sale and workspace.point_of_sale(point_of_sale) is None:
        known = ", ".join(p.id for p in workspace.points_of_sale)
        raise UsageError(f"unknown point of sale {point_of_sale!r} (known: {known})")
    if sending:
        from .mailer import smtp_settings
        smtp_settings()  # refuse before the work if mail cannot be sent
    con = connect(workspace.database)
    try:
        refresh_attribution(con, workspace)
    finally:
        con.close()
    if not allow_empty and not has_data(workspace, kind, month, point_of_sale):
        scope = f" for point of sale {point_of_sale}" if point_of_sale else ""
        window = f"in the 12 months to {month}" if kind == "health" else f"in {month}"
        raise UsageError(f"no data {window}{scope}: no copy received and no lead in the mail logs or "
                         "mailbox exports; nothing written (--allow-empty to write the report anyway)")
    return source


def _months_to(month: str, count: int) -> list[str]:
    """``count`` months ending with ``month``, as YYYY-MM."""
    year, number = (int(part) for part in month.split("-"))
    index = year * 12 + number - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - count + 1, index + 1)]


def has_data(workspace: Workspace, kind: str, month: str, point_of_sale: str | None) -> bool:
    """Whether a report has anything to show (docs/reports.md, "A month without data"): a copy
    received that month (any category: the monthly report counts spam and notifications too) or a
    lead the mail logs or mailbox exports saw (``expected_leads``: a point of sale whose tracking
    is broken has those and no copy, and its reports must say so), attributed to the point of
    sale for its report; the health report looks at the 12 months it covers."""
    months = _months_to(month, 12) if kind == "health" else [month]
    scope = "AND point_of_sale = ?" if point_of_sale else ""
    params: list[Any] = [months, *([point_of_sale] if point_of_sale else [])]
    query = (f"SELECT EXISTS (SELECT 1 FROM messages WHERE list_contains(?, month) {scope})"
             f" OR EXISTS (SELECT 1 FROM expected_leads WHERE list_contains(?, month) {scope})")
    return bool(Analytics(workspace, refresh=False).sql(query, params * 2).iloc[0, 0])


def _run(workspace: Workspace, kind: str, month: str, folder: Path, source: Path, point_of_sale: str | None,
         send_to: list[str], language: str | None, timeout: int, resend: bool) -> ReportResult:
    import papermill

    started = time.monotonic()
    stem = kind + (f"-{point_of_sale}" if point_of_sale else "")
    executed, html_path = folder / f"{stem}.ipynb", folder / f"{stem}.html"
    language = language or workspace.language
    parameters = {"workspace": str(workspace.root), "month": month,
                  "point_of_sale": point_of_sale or "", "language": language}
    os.environ.setdefault("JUPYTER_PREFER_ENV_PATH", "1")  # the python3 kernel of this environment
    try:
        papermill.execute_notebook(
            str(source), str(executed), parameters=parameters, kernel_name=KERNEL,
            progress_bar=False, cwd=str(workspace.root), execution_timeout=timeout,
            kernel_manager_class=_local_kernel_manager())
    except papermill.PapermillExecutionError as exc:
        if executed.exists():  # the notebook that shows where it failed, mailed to --error-to: lean too
            _write_private(executed, _notebook_text(lean(_read(executed))))
        raise EmailtrackError(f"report {kind} failed in cell {exc.exec_count}: {exc.ename}: "
                              f"{exc.evalue} (executed notebook: {executed})") from None
    nb = lean(_read(executed))
    _write_private(executed, _notebook_text(nb))
    _write_private(html_path, to_html(nb))
    figures = recorded_summary(nb)
    summary_path = None
    if figures:
        summary_path = folder / f"{stem}.summary.json"
        _write_private(summary_path, json.dumps(figures, indent=2, ensure_ascii=False))
    os.chmod(executed, 0o600)
    result = ReportResult(executed, html_path, summary_path, figures, time.monotonic() - started)
    if send_to:
        _send(workspace, result, kind, month, send_to, point_of_sale, language, folder / f"{stem}.sent.json", resend)
    return result


def _write_private(path: Path, text: str) -> None:
    """Write a file readable by its owner only (reports name agencies and their volumes)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o600)


def _send(workspace: Workspace, result: ReportResult, kind: str, month: str, recipients: list[str],
          point_of_sale: str | None, language: str,
          record: Path, resend: bool) -> None:
    from .mailer import send_report
    digest = hashlib.sha256(json.dumps(result.figures, sort_keys=True, default=str).encode()).hexdigest()
    sent = json.loads(record.read_text()) if record.exists() else {}
    if not resend and sent.get("figures") == digest and set(recipients) <= set(sent.get("recipients", [])):
        result.already_sent = tuple(recipients)
        return
    send_report(workspace, result, kind, month, recipients, point_of_sale=point_of_sale, language=language)
    result.sent_to = tuple(recipients)
    previous = set(sent.get("recipients", [])) if sent.get("figures") == digest else set()
    _write_private(record, json.dumps({"figures": digest, "recipients": sorted(previous | set(recipients)),
                                       "sent_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}, indent=2))


def _local_kernel_manager() -> type:
    """A kernel manager that talks to the kernel over local sockets (IPC), not TCP ports:
    nothing listens on the network while a report runs."""
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import CaselessStrEnum

    class LocalKernelManager(AsyncKernelManager):
        transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

    return LocalKernelManager


def _read(path: Path) -> Any:  # nbformat's NotebookNode (untyped)
    import nbformat
    return nbformat.read(str(path), as_version=4)


def _notebook_text(nb: Any) -> str:
    import nbformat
    return str(nbformat.writes(nb))


def lean(nb: Any) -> Any:
    """The executed notebook without plotly.js in its outputs (its figures stay, as JSON): the
    library is the HTML page's, once."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            markup = output.get("data", {}).get("text/html")
            if markup is not None:
                output["data"]["text/html"] = without_library(markup if isinstance(markup, str) else "".join(markup))
    return nb


def _html_outputs(nb: Any) -> Iterator[str]:
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            markup = output.get("data", {}).get("text/html")
            if markup is not None:
                yield markup if isinstance(markup, str) else "".join(markup)


def to_html(nb: Any) -> str:
    """A self-contained HTML page of an executed notebook: code hidden, nothing loaded from the
    network, plotly.js embedded once (packed) when the notebook has figures."""
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    config = Config()
    config.HTMLExporter.exclude_input = True
    config.HTMLExporter.exclude_input_prompt = True
    config.HTMLExporter.exclude_output_prompt = True
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_cell_tags = {"remove-cell"}
    config.TagRemovePreprocessor.remove_all_outputs_tags = {"remove-output"}
    templates = resources.files("emailtrack_analytics") / "reports" / "templates"
    exporter = HTMLExporter(config=config, template_name="emailtrack",
                            extra_template_basedirs=[str(templates)])
    nb = lean(nb)
    outputs = list(_html_outputs(nb))
    scripts = ""
    if any("data-emailtrack-figure" in markup for markup in outputs):
        scripts = page_scripts(set().union(*(figure_types(markup) for markup in outputs)))
    body, _ = exporter.from_notebook_node(nb, resources={"emailtrack_scripts": scripts})
    return used_styles(body)


def recorded_summary(nb: Any) -> dict[str, Any]:
    """The key figures a notebook recorded with ``Summary`` (the last one wins)."""
    found: dict[str, Any] = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if SUMMARY_MIME in data:
                found = dict(data[SUMMARY_MIME])
    return found
