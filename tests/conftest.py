"""Shared fixtures: workspaces in temporary folders, the real corpus, the CLI in-process."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import textwrap
from pathlib import Path

import pytest

from emailtrack_analytics.cli import main

ROOT = Path(__file__).resolve().parents[1]
ASSETS = Path(__file__).resolve().parent / "assets"
CORPUS = Path(os.environ.get("EMAILTRACK_CORPUS", ROOT.parent / "shared" / "corpus"))
SAMPLE_END_MONTH = "2026-10"


def pytest_collection_modifyitems(config, items):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    for item in items:
        if "chromium" in item.keywords and not chromium:
            item.add_marker(pytest.mark.skip(reason="headless Chromium not installed (apt-get install chromium)"))
        if "corpus" in item.keywords and not CORPUS.is_dir():
            item.add_marker(pytest.mark.skip(reason=f"corpus not found at {CORPUS}"))


@pytest.fixture
def corpus() -> Path:
    return CORPUS


def write_config(folder: Path, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "emailtrack.toml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


BASIC_CONFIG = """
[workspace]
name = "Test network"
timezone = "Europe/Paris"

[[points_of_sale]]
id = "lyon-2"
name = "Agence Lyon 2e"
tracked_addresses = ["lyon2@track.example.net"]
mailboxes = ["lyon2@agence-exemple.fr"]
group = "Rhône"

[[points_of_sale]]
id = "paris-11"
name = "Agence Paris 11e"
tracked_addresses = ["paris11@track.example.net"]
mailboxes = ["paris11@agence-exemple.fr"]
group = "Île-de-France"

[[portals]]
id = "site-agence"
name = "Site Internet"
kind = "website"
senders = ["formulaire@agence-exemple.fr"]
subjects = ["^Demande de contact"]

[[tracked_addresses]]
address = "lyon2-seloger@track.example.net"
point_of_sale = "lyon-2"
portal = "seloger"

[[tracked_addresses]]
address = "reseau@track.example.net"
distribution = true
"""


@pytest.fixture
def workspace_dir(tmp_path) -> Path:
    """A workspace with two points of sale, a website portal and special tracked addresses."""
    folder = tmp_path / "ws"
    write_config(folder, BASIC_CONFIG)
    return folder


@pytest.fixture
def workspace(workspace_dir):
    from emailtrack_analytics.config.workspace import open_workspace
    return open_workspace(workspace_dir)


class CliResult:
    def __init__(self, code: int, out: str, err: str):
        self.code, self.out, self.err = code, out, err

    def __repr__(self):
        return f"CliResult(code={self.code}, err={self.err!r})"


def run_cli(*args: str) -> CliResult:
    """Run ``emailtrack ARGS`` in-process; returns exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse
            code = exc.code if isinstance(exc.code, int) else 1
    return CliResult(code, out.getvalue(), err.getvalue())


@pytest.fixture
def cli():
    return run_cli


ALL_TABLES = ("messages", "leads", "quarantine", "forward-events", "coverage", "contacts")


def export_tables(ws, tables=ALL_TABLES) -> dict[str, str]:
    """Each table's CSV export, personal data in clear (pseudonyms differ between workspaces)."""
    out = {}
    for table in tables:
        result = run_cli("--workspace", ws, "export", table, "--personal-data")
        assert result.code == 0, result.err
        out[table] = result.out
    return out


@pytest.fixture(scope="session")
def sample_workspace(tmp_path_factory) -> Path:
    """The demo data set at a small scale with a fixed end month, ingested once per test run."""
    root = tmp_path_factory.mktemp("sample") / "ws"
    result = run_cli("init", root, "--sample", "--end-month", SAMPLE_END_MONTH, "--scale", "0.15")
    assert result.code == 0, result.err
    result = run_cli("--workspace", root, "ingest", root / "data" / "sample", "--workers", "2")
    assert result.code == 0, result.err
    return root


def free_port() -> int:
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """An SMTP handler that keeps every envelope it receives."""

    def __init__(self):
        self.received = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append(envelope)
        return "250 OK"


@contextlib.contextmanager
def smtp_server(handler):
    """A real SMTP server (aiosmtpd) on a free loopback port; yields the port."""
    from aiosmtpd.controller import Controller
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def report_in(message) -> str | None:
    """The full report a report email carries: the attached page, or the page inside an attached
    .zip; None when it was too large to attach (the body then says where it is)."""
    import zipfile
    for part in message.iter_attachments():
        name = part.get_filename() or ""
        if name.endswith(".html"):
            content = part.get_content()
            return content.decode() if isinstance(content, bytes) else content
        if name.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(part.get_content())) as archive:
                return archive.read(name[:-len(".zip")]).decode()
    return None


def workspace_with_notebook(sample_workspace: Path, tmp_path: Path, name: str, *cells: str) -> Path:
    """A copy of the sample workspace (without its reports) holding its own report notebook
    ``notebooks/NAME.ipynb``: the parameters cell, then one code cell per source in ``cells``."""
    import nbformat
    ws = tmp_path / "ws"
    shutil.copytree(sample_workspace, ws, ignore=shutil.ignore_patterns("reports"))
    (ws / "notebooks").mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell('workspace = ""\nmonth = ""\npoint_of_sale = ""\nlanguage = ""')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *(nbformat.v4.new_code_cell(source) for source in cells)]
    nbformat.write(nb, str(ws / "notebooks" / f"{name}.ipynb"))
    return ws
