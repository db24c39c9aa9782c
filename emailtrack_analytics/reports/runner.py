"""``emailtrack report KIND``: run ``notebooks/KIND.ipynb`` with papermill, export HTML, send it.

The kernel is pinned to ``python3`` (the environment emailtrack runs in) and parameters are
passed as strings. Outputs go to ``OUT/YYYY-MM/KIND[-point_of_sale].{ipynb,html}`` plus
``.summary.json`` with the key figures the notebook recorded.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import EmailtrackError, UsageError
from ..refresh import refresh_attribution
from ..store.db import connect
from ..workspace import Workspace
from .html import SUMMARY_MIME

KERNEL = "python3"


@dataclass
class ReportResult:
    notebook: Path
    html: Path
    summary: Path | None
    figures: dict
    seconds: float
    sent_to: tuple[str, ...] = ()


def notebook_path(workspace: Workspace, kind: str) -> Path:
    """The notebook for a report kind: the workspace's own ``notebooks/`` first, then
    ``$EMAILTRACK_NOTEBOOKS``, then the project's ``notebooks/``."""
    if not kind.replace("-", "").replace("_", "").isalnum():
        raise UsageError(f"invalid report kind {kind!r}")
    candidates = [workspace.root / "notebooks"]
    if os.environ.get("EMAILTRACK_NOTEBOOKS"):
        candidates.append(Path(os.environ["EMAILTRACK_NOTEBOOKS"]))
    candidates.append(Path(__file__).resolve().parents[2] / "notebooks")
    for folder in candidates:
        if (folder / f"{kind}.ipynb").is_file():
            return folder / f"{kind}.ipynb"
    known = sorted({p.stem for folder in candidates if folder.is_dir() for p in folder.glob("*.ipynb")})
    raise UsageError(f"no report notebook {kind}.ipynb (available: {', '.join(known) or 'none'})")


def run_report(workspace: Workspace, kind: str, month: str, *, point_of_sale: str | None = None,
               out: str | os.PathLike | None = None, send_to: list[str] | tuple = (),
               language: str | None = None, timeout: int = 600) -> ReportResult:
    import papermill

    started = time.monotonic()
    source = notebook_path(workspace, kind)
    if point_of_sale and workspace.point_of_sale(point_of_sale) is None:
        known = ", ".join(p.id for p in workspace.points_of_sale)
        raise UsageError(f"unknown point of sale {point_of_sale!r} (known: {known})")
    if send_to:
        from ..mailer import smtp_settings
        smtp_settings()  # refuse before the work if mail cannot be sent
    con = connect(workspace.database)
    try:
        refresh_attribution(con, workspace)
    finally:
        con.close()

    folder = Path(out).resolve() if out else workspace.reports_dir
    folder = folder / month
    folder.mkdir(parents=True, exist_ok=True)
    stem = kind + (f"-{point_of_sale}" if point_of_sale else "")
    executed, html_path = folder / f"{stem}.ipynb", folder / f"{stem}.html"
    parameters = {"workspace": str(workspace.root), "month": month,
                  "point_of_sale": point_of_sale or "", "language": language or workspace.language}
    os.environ.setdefault("JUPYTER_PREFER_ENV_PATH", "1")  # the python3 kernel of this environment
    try:
        papermill.execute_notebook(
            str(source), str(executed), parameters=parameters, kernel_name=KERNEL,
            progress_bar=False, cwd=str(workspace.root), execution_timeout=timeout,
            kernel_manager_class=_local_kernel_manager())
    except papermill.PapermillExecutionError as exc:
        raise EmailtrackError(f"report {kind} failed in cell {exc.exec_count}: {exc.ename}: "
                              f"{exc.evalue} (executed notebook: {executed})") from None
    nb = _read(executed)
    html_path.write_text(to_html(nb), encoding="utf-8")
    figures = recorded_summary(nb)
    summary_path = None
    if figures:
        summary_path = folder / f"{stem}.summary.json"
        summary_path.write_text(json.dumps(figures, indent=2, ensure_ascii=False), encoding="utf-8")
    for path in (executed, html_path, summary_path):
        if path:
            os.chmod(path, 0o600)  # reports may describe named agencies and prospects' volumes
    result = ReportResult(executed, html_path, summary_path, figures, time.monotonic() - started)
    if send_to:
        from ..mailer import send_report
        send_report(workspace, result, kind, month, list(send_to), point_of_sale=point_of_sale)
        result.sent_to = tuple(send_to)
    return result


def _local_kernel_manager():
    """A kernel manager that talks to the kernel over local sockets (IPC), not TCP ports:
    nothing listens on the network while a report runs."""
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import CaselessStrEnum

    class LocalKernelManager(AsyncKernelManager):
        transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

    return LocalKernelManager


def _read(path: Path):
    import nbformat
    return nbformat.read(str(path), as_version=4)


def to_html(nb) -> str:
    """A self-contained HTML page of an executed notebook: code hidden, nothing loaded from the network."""
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    config = Config()
    config.HTMLExporter.exclude_input = True
    config.HTMLExporter.exclude_input_prompt = True
    config.HTMLExporter.exclude_output_prompt = True
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_cell_tags = {"remove-cell"}
    config.TagRemovePreprocessor.remove_all_outputs_tags = {"remove-output"}
    templates = resources.files("emailtrack_analytics") / "templates"
    exporter = HTMLExporter(config=config, template_name="emailtrack",
                            extra_template_basedirs=[str(templates)])
    body, _ = exporter.from_notebook_node(nb)
    return body


def recorded_summary(nb) -> dict:
    """The key figures a notebook recorded with ``Summary`` (the last one wins)."""
    found: dict = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if SUMMARY_MIME in data:
                found = dict(data[SUMMARY_MIME])
    return found
