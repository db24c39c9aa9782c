"""Shared fixtures: workspaces in temporary folders, the real corpus, the CLI in-process."""

from __future__ import annotations

import base64
import contextlib
import fcntl
import io
import json
import math
import os
import select
import shutil
import subprocess
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from emailtrack_analytics.cli import main

ROOT = Path(__file__).resolve().parents[1]
ASSETS = Path(__file__).resolve().parent / "assets"
CORPUS = Path(os.environ.get("EMAILTRACK_CORPUS", ROOT.parent / "shared" / "corpus"))
SAMPLE_END_MONTH = "2026-10"
# headless Chromium (Debian's chromium package), or None: tests marked `chromium` are then skipped
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "chromium" in item.keywords and not CHROMIUM:
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


# --------------------------------------------------------------------------- headless Chromium

def headless_chromium(profile: Path, *args: str) -> subprocess.CompletedProcess:
    """One run of ``chromium --headless ARGS`` (no network, no first-run chores) that draws a page
    and exits, e.g. with ``--dump-dom`` or ``--screenshot=FILE``."""
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--hide-scrollbars",
         "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120, check=True)


SCREEN_WIDTH = 1280
RECORDER = """
window.__calls = [];
for (const name of ['alert', 'confirm', 'prompt', 'print', 'open']) {
  window[name] = function (...args) { window.__calls.push([name, String(args[0])]); return null; };
}
"""
INSPECT = """(() => {
  const bad = [];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      if (/^javascript:/i.test(a.value.replace(/[\\u0000-\\u0020]/g, ''))) bad.push(el.tagName + ' ' + a.name);
    }
  }
  // what an unescaped <script>alert("subject")</script> would have made (plotly's JSON may hold
  // the hostile text as data, inside its own scripts)
  const scripts = Array.from(document.scripts).filter(s => /^\\s*alert\\(/.test(s.text)).length;
  return {text: document.body.innerText, javascript: bad, hostile_scripts: scripts, calls: window.__calls,
          charts: document.querySelectorAll('.js-plotly-plot').length,
          drawn: document.querySelectorAll('.js-plotly-plot .main-svg').length,
          svg_links: document.querySelectorAll('svg a').length};
})()"""
CHARTS_DRAWN = """(() => { const plots = document.querySelectorAll('.js-plotly-plot');
  return Array.from(plots).every(p => p.querySelector('.main-svg')); })()"""


@dataclass
class Visit:
    """What a page did while it loaded: its dialogs, requests and script errors."""
    session: str
    dialogs: list = field(default_factory=list)
    requests: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    loaded: bool = False


class Chromium:
    """Headless Chromium driven through the DevTools protocol on file descriptors 3 and 4
    (``--remote-debugging-pipe``: messages are JSON, each ended by a NUL byte)."""

    def __init__(self, profile: Path):
        ours_r, theirs_w = os.pipe()
        theirs_r, ours_w = os.pipe()
        # the child's ends above 10 first, so that moving them to 3 and 4 cannot overwrite one another
        high_r, high_w = fcntl.fcntl(theirs_r, fcntl.F_DUPFD, 10), fcntl.fcntl(theirs_w, fcntl.F_DUPFD, 10)
        os.close(theirs_r)
        os.close(theirs_w)

        def to_3_and_4():
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self.process = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-default-apps", "--disable-extensions", "--mute-audio", f"--user-data-dir={profile}",
             "about:blank"],
            pass_fds=(3, 4), preexec_fn=to_3_and_4, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.close(high_r)
        os.close(high_w)
        self._in, self._out = ours_r, ours_w
        self._buffer, self._id, self._replies = b"", 0, {}
        self.visits: dict[str, Visit] = {}

    def _send(self, method: str, params: dict | None = None, session: str | None = None) -> int:
        self._id += 1
        message = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        return self._id

    def command(self, method: str, params: dict | None = None, session: str | None = None,
                timeout: float = 60) -> dict:
        number = self._send(method, params, session)
        self.wait(lambda: number in self._replies, timeout, method)
        reply = self._replies.pop(number)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def wait(self, done, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"Chromium: {what}")
            self._receive(min(left, 0.25))

    def _receive(self, timeout: float) -> None:
        ready, _, _ = select.select([self._in], [], [], timeout)
        if not ready:
            return
        chunk = os.read(self._in, 1 << 20)
        if not chunk:
            raise EOFError("Chromium exited")
        self._buffer += chunk
        *messages, self._buffer = self._buffer.split(b"\0")
        for raw in messages:
            message = json.loads(raw)
            if "id" in message:
                self._replies[message["id"]] = message
            else:
                self._event(message)

    def _event(self, message: dict) -> None:
        visit = self.visits.get(message.get("sessionId", ""))
        if visit is None:
            return
        method, params = message["method"], message.get("params", {})
        if method == "Page.javascriptDialogOpening":
            visit.dialogs.append(params.get("message"))
            self._send("Page.handleJavaScriptDialog", {"accept": False}, visit.session)  # never left open
        elif method == "Network.requestWillBeSent":
            visit.requests.append(params["request"]["url"])
        elif method == "Network.webSocketCreated":
            visit.requests.append(params["url"])
        elif method == "Runtime.exceptionThrown":
            visit.errors.append(params["exceptionDetails"].get("text"))
        elif method == "Page.loadEventFired":
            visit.loaded = True

    def open(self, page: Path, inspect: str = INSPECT, screenshot: Path | None = None) -> tuple[Visit, Any]:
        """Load ``page`` with dialogs recorded (``window.alert`` and co. replaced before any script
        of the page runs, and any real dialog dismissed), every request recorded, and its charts
        drawn; return what happened and what the page shows (the value of the JavaScript
        expression ``inspect``, awaited if it is a promise). With ``screenshot``, the page is laid
        out 1280 pixels wide and its whole length written there as a PNG, after ``inspect``."""
        target = self.command("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.command("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        visit = self.visits[session] = Visit(session)
        try:
            for domain in ("Page", "Network", "Runtime"):
                self.command(f"{domain}.enable", session=session)
            if screenshot:
                self.command("Emulation.setDeviceMetricsOverride", {"width": SCREEN_WIDTH, "height": 900,
                             "deviceScaleFactor": 1, "mobile": False}, session=session)
            self.command("Page.addScriptToEvaluateOnNewDocument", {"source": RECORDER}, session=session)
            self.command("Page.navigate", {"url": page.as_uri()}, session=session)
            self.wait(lambda: visit.loaded, 90, f"loading {page.name}")
            deadline = time.monotonic() + 60
            while not self.evaluate(session, CHARTS_DRAWN):
                assert time.monotonic() < deadline, f"charts of {page.name} not drawn"
                self._receive(0.2)
            self._receive(0.5)  # anything a chart does once drawn
            shown = self.evaluate(session, inspect)
            if screenshot:
                size = self.command("Page.getLayoutMetrics", session=session)["cssContentSize"]
                clip = {"x": 0, "y": 0, "width": SCREEN_WIDTH, "height": math.ceil(size["height"]), "scale": 1}
                image = self.command("Page.captureScreenshot", {"format": "png", "clip": clip, "optimizeForSpeed": True,
                                     "captureBeyondViewport": True}, session=session)["data"]
                screenshot.write_bytes(base64.b64decode(image))
            return visit, shown
        finally:
            self.command("Target.closeTarget", {"targetId": target})

    def evaluate(self, session: str, expression: str):
        result = self.command("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                   "awaitPromise": True}, session=session)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"].get("text"))
        return result["result"].get("value")

    def close(self) -> None:
        try:
            self.command("Browser.close", timeout=10)
        except (OSError, EOFError, TimeoutError, RuntimeError):
            pass
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._in)
        os.close(self._out)


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    """One headless Chromium per test module, driven through the DevTools protocol (``Chromium``)."""
    browser = Chromium(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield browser
    finally:
        browser.close()
