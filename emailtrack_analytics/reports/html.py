"""HTML pieces for report notebooks: charts that survive nbconvert, escaped tables, headline cards.

nbconvert keeps ``text/html`` outputs but drops plotly's JSON-only output, so each chart is
emitted as HTML: an empty ``<div>`` and the figure's JSON in a ``<script type="application/json">``
(a few kilobytes, inert: the executed notebook stays small). A page draws them with ``page_scripts``:
plotly.js embedded once, gzip-compressed and base64-encoded, and a small loader that unpacks it with
the browser's ``DecompressionStream`` and draws every figure, so the report opens offline and weighs
well under 2 MB. The library is plotly.js's cartesian bundle (``assets/plotly-cartesian.min.js``,
the same version as the full bundle plotly.py ships; 1.5 MB instead of 4.8 MB, 0.5 MB compressed)
when every chart is of a type it holds, else plotly.py's full bundle (docs/reports.md).

Untrusted text (subjects, sender domains, names, ids: anything from an email, a mail log, a file
name or the configuration) never reaches the page as markup:

- tables, cards, headings and notes pass every value through ``html.escape``;
- charts: plotly serialises the figure as JSON with ``<``, ``>`` and ``/`` written as ``\\u003c``…
  (no ``</script>`` can end the script early), and plotly.js reads a subset of HTML in the text it
  draws (``<b>``, ``<br>``, ``<a href>``; it drops ``javascript:`` links itself). ``figure`` escapes
  the text of every trace (categories, labels, names, hover text) so that plotly shows it as
  written, ``<a href=…>`` included, and draws no link from data.
"""

from __future__ import annotations

import base64
import functools
import gzip
import html
import json
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from importlib import resources
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs, get_plotlyjs_version

SUMMARY_MIME = "application/vnd.emailtrack.summary+json"

STYLE = """
<style>
.et-report { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2933; }
.et-report h1 { font-size: 1.6em; margin: 0.2em 0; }
.et-report .et-sub { color: #52606d; margin-bottom: 1em; }
.et-cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 12px 0; }
.et-card { border: 1px solid #d9e2ec; border-radius: 8px; padding: 10px 14px; min-width: 150px; }
.et-card .et-value { font-size: 1.7em; font-weight: 600; }
.et-card .et-label { color: #52606d; font-size: 0.85em; }
.et-card .et-delta.up { color: #1f7a3d; } .et-card .et-delta.down { color: #b42318; }
table.et-table { border-collapse: collapse; margin: 8px 0; font-size: 0.9em; }
.jp-RenderedHTMLCommon table.et-table th, .jp-RenderedHTMLCommon table.et-table td,
table.et-table th, table.et-table td { border-bottom: 1px solid #e4e7eb; padding: 4px 10px; text-align: left; }
.jp-RenderedHTMLCommon table.et-table td.num, .jp-RenderedHTMLCommon table.et-table th.num,
table.et-table td.num, table.et-table th.num { text-align: right; font-variant-numeric: tabular-nums; }
.et-note { color: #52606d; font-size: 0.85em; }
ul.et-list { margin: 0; padding-left: 1.1em; }
</style>
"""


class HTML:
    """An object Jupyter displays as HTML (like IPython.display.HTML, without the import)."""

    def __init__(self, markup: str):
        self.markup = markup

    def _repr_html_(self) -> str:
        return self.markup

    def __str__(self) -> str:
        return self.markup


# plotly.js's cartesian bundle (npm package plotly.js-cartesian-dist-min, MIT, see
# assets/plotly-cartesian.LICENSE): the trace types its README lists
CARTESIAN_BUNDLE = "plotly-cartesian.min.js"
CARTESIAN_TRACES = frozenset({"bar", "box", "contour", "heatmap", "histogram", "histogram2d", "histogram2dcontour",
                              "image", "pie", "scatter", "scatterternary", "violin"})

LIBRARY = re.compile(r'<script type="application/gzip\+base64" data-emailtrack-library="[^"]*">[^<]*</script>')
LOADER_TAG = '<script type="text/javascript" data-emailtrack-loader="">'
LOADER_RE = re.compile(re.escape(LOADER_TAG) + r".*?</script>", re.S)
FIGURE_RE = re.compile(r'<script type="application/json" data-emailtrack-figure="[^"]*">(.*?)</script>', re.S)

# Unpacks the library (once, however many copies of this loader a page holds), runs it as an
# inline script (no request, not even blob:), then draws every figure; a browser without
# DecompressionStream (Chromium < 80, Firefox < 113, Safari < 16.4) says so in each chart's place.
LOADER = """(function () {
  if (window.emailtrackCharts) return;
  window.emailtrackCharts = true;
  function figures() { return document.querySelectorAll('script[data-emailtrack-figure]'); }
  function draw() {
    for (const node of figures()) {
      const target = document.getElementById(node.dataset.emailtrackFigure);
      const figure = JSON.parse(node.textContent);
      if (target) window.Plotly.newPlot(target, figure.data, figure.layout, figure.config);
    }
  }
  async function load() {
    if (!window.Plotly) {
      const packed = document.querySelector('script[data-emailtrack-library]');
      const bytes = Uint8Array.from(atob(packed.textContent), function (c) { return c.charCodeAt(0); });
      const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
      const script = document.createElement('script');
      script.textContent = await new Response(stream).text();
      document.head.appendChild(script);
    }
    draw();
  }
  function start() {
    load().catch(function (error) {
      for (const node of figures()) {
        const target = document.getElementById(node.dataset.emailtrackFigure);
        if (target) target.textContent = 'Chart not drawn: this browser cannot unpack it (' + error + ').';
      }
    });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
})();"""


def _cartesian_source() -> str | None:
    """The cartesian bundle, if it is the version of plotly.js that plotly.py ships (the figures'
    JSON is written for that version)."""
    text = (resources.files("emailtrack_analytics") / "reports" / "assets" / CARTESIAN_BUNDLE).read_text("utf-8")
    match = re.search(r"plotly\.js \(cartesian - minified\) v(\S+)", text[:300])
    return text if match and match.group(1) == get_plotlyjs_version() else None


@functools.cache
def packed_library(cartesian: bool = True) -> tuple[str, str]:
    """(name, plotly.js gzip-compressed and base64-encoded): the cartesian bundle when asked for and
    usable, else the full one. ``mtime=0`` so that the same library packs to the same text."""
    source = _cartesian_source() if cartesian else None
    name = "cartesian" if source is not None else "full"
    data = gzip.compress((source or get_plotlyjs()).encode("utf-8"), compresslevel=9, mtime=0)
    return name, base64.b64encode(data).decode("ascii")


def page_scripts(trace_types: Iterable[str] = ()) -> str:
    """What a page needs to draw its figures, once: the packed library and its loader. The
    cartesian bundle unless a figure is of a type it does not hold."""
    name, packed = packed_library(set(trace_types) <= CARTESIAN_TRACES)
    return (f'<script type="application/gzip+base64" data-emailtrack-library="{name}">{packed}</script>'
            f"{LOADER_TAG}{LOADER}</script>")


def plotly_js() -> HTML:
    """The report's CSS and what draws its charts (``page_scripts``): call once per page. The
    runner takes the library out of the executed notebook and puts it back once in the HTML."""
    return HTML(STYLE + page_scripts())


def without_library(markup: str) -> str:
    """``markup`` without the packed library and its loader (the executed notebook's outputs)."""
    return LOADER_RE.sub("", LIBRARY.sub("", markup))


def figure_types(markup: str) -> set[str]:
    """The trace types of the figures ``markup`` holds."""
    found: set[str] = set()
    for body in FIGURE_RE.findall(markup):
        found.update(trace.get("type", "scatter") for trace in json.loads(body).get("data", []))
    return found


# ------------------------------------------------------------------ the page's style sheets
# nbconvert's lab template inlines all of JupyterLab's CSS (0.26 MB, mostly rules for its own
# widgets and their icons as data: URLs); a report uses a few dozen of its classes.
_CSS_CLASS = re.compile(r"\.(-?[_a-zA-Z][\w-]*)")
_CSS_VAR = re.compile(r"var\(\s*(--[\w-]+)")
_CSS_PROPERTY = re.compile(r"\s*(--[\w-]+)\s*:")
_GROUPING = ("@media", "@supports", "@layer", "@container")


def _split_outside(text: str, separator: str) -> list[str]:
    """``text`` split at ``separator`` outside brackets (selectors' ``:is(a, b)``, ``url(…;…)``)."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == separator and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _block_end(css: str, start: int) -> int:
    depth = 0
    for i in range(start, len(css)):
        if css[i] == "{":
            depth += 1
        elif css[i] == "}":
            depth -= 1
            if depth == 0:
                return i + 1
    raise ValueError("unbalanced braces")


def _matching_rules(css: str, classes: set[str]) -> str:
    """The rules of ``css`` that can match: a selector whose classes (outside ``:not()``) are all in
    ``classes``; grouping rules (``@media``…) keep what matches inside them; other at-rules stay."""
    kept, i = [], 0
    while i < len(css):
        brace, semicolon = css.find("{", i), css.find(";", i)
        if brace < 0:
            kept.append(css[i:])
            break
        if css[i:brace].lstrip().startswith("@") and 0 <= semicolon < brace:  # @import, @charset…
            kept.append(css[i:semicolon + 1])
            i = semicolon + 1
            continue
        end = _block_end(css, brace)
        prelude = css[i:brace].strip()
        if prelude.startswith(_GROUPING):
            inner = _matching_rules(css[brace + 1:end - 1], classes)
            if inner.strip():
                kept.append(f"{prelude}{{{inner}}}")
        elif prelude.startswith("@") or any(
                set(_CSS_CLASS.findall(re.sub(r":not\([^)]*\)", "", selector))) <= classes
                for selector in _split_outside(prelude, ",")):
            kept.append(f"{prelude}{css[brace:end]}")
        i = end
    return "\n".join(kept)


def _without_unused_properties(css: str, referenced: set[str]) -> str:
    def rule(match: re.Match[str]) -> str:
        kept = [d for d in _split_outside(match.group(2), ";")
                if d.strip() and (not (name := _CSS_PROPERTY.match(d)) or name.group(1) in referenced)]
        return f"{match.group(1)}{{{';'.join(kept)}}}" if kept else ""
    return re.sub(r"([^{}]*)\{([^{}]*)\}", rule, css)


def used_styles(page: str) -> str:
    """``page`` with its style sheets reduced to what can apply to it: rules whose selectors name
    classes the page has (its scripts add none the sheets style: plotly styles its own), and the
    custom properties (``--jp-…``) those rules use. A sheet that does not parse stays whole."""
    markup = re.sub(r"<(style|script)\b.*?</\1>", "", page, flags=re.S | re.I)
    classes = {name for value in re.findall(r'class="([^"]*)"', markup) for name in value.split()}
    sheets = re.findall(r"(<style\b[^>]*>)(.*?)(</style>)", page, flags=re.S | re.I)
    reduced = []
    for _, css, _ in sheets:
        try:
            reduced.append(_matching_rules(re.sub(r"/\*.*?\*/", "", css, flags=re.S), classes))
        except ValueError:
            reduced.append(css)
    while True:  # custom properties refer to one another: until nothing more goes
        referenced = set(_CSS_VAR.findall(markup)).union(*(_CSS_VAR.findall(css) for css in reduced))
        smaller = [_without_unused_properties(css, referenced) for css in reduced]
        if smaller == reduced:
            break
        reduced = smaller
    parts = iter(reduced)
    return re.sub(r"(<style\b[^>]*>)(.*?)(</style>)", lambda m: f"{m.group(1)}{next(parts)}{m.group(3)}",
                  page, flags=re.S | re.I)


# trace attributes whose strings plotly draws as text (axis categories, legend, hover, labels)
_TRACE_TEXT = ("x", "y", "labels", "text", "hovertext", "name")


def chart_text(value: object) -> object:
    """Text as plotly should draw it literally: plotly.js decodes ``&lt;`` ``&gt;`` ``&amp;``
    and reads the rest as its own markup (quotes are left as they are: it does not decode
    ``&quot;``)."""
    return html.escape(value, quote=False) if isinstance(value, str) else value


def _escaped(values: Any) -> Any:  # whatever a trace holds: a string, a list, an array
    if isinstance(values, str):
        return chart_text(values)
    if isinstance(values, (list, tuple)) or getattr(values, "dtype", None) == object:
        if any(isinstance(v, str) for v in values):
            return [chart_text(v) for v in values]
    return values


def escape_chart_text(fig: go.Figure) -> go.Figure:
    """A copy of ``fig`` with the strings of every trace that plotly draws as text escaped (see
    the module's doc): for the page and for the images of an email alike."""
    fig = go.Figure(fig)
    for trace in fig.data:
        for name in _TRACE_TEXT:
            if name in trace and trace[name] is not None:
                trace[name] = _escaped(trace[name])
    return fig


def figure(fig: go.Figure, height: int | None = None) -> HTML:
    """A plotly figure as an empty ``<div>`` and its JSON, drawn by the page's loader
    (``page_scripts``); the traces' text escaped so that plotly draws it as written. plotly writes
    ``<``, ``>`` and ``/`` in the JSON as ``\\u003c``…: no text can end the script element."""
    fig = escape_chart_text(fig)
    if height:
        fig.update_layout(height=height)
    spec = {**fig.to_plotly_json(), "config": {"displaylogo": False, "responsive": True}}
    target = f"et-{uuid.uuid4()}"
    size = f"height:{fig.layout.height}px; width:100%;" if fig.layout.height else "height:450px; width:100%;"
    # the div has plotly's class from the start: a reader counting the page's charts sees them all
    # before the library has unpacked
    return HTML(f'<div class="et-chart"><div id="{target}" class="plotly-graph-div js-plotly-plot" style="{size}">'
                f'</div><script type="application/json" data-emailtrack-figure="{target}">'
                f"{pio.to_json(spec, validate=False)}</script></div>")


def escape(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _cell(value: object) -> str:
    """A table cell's content: escaped text, or a list of escaped lines."""
    if isinstance(value, (list, tuple)):
        return '<ul class="et-list">' + "".join(f"<li>{escape(v)}</li>" for v in value) + "</ul>" if value else ""
    return escape(value)


def table(frame: pd.DataFrame, numeric: tuple[str, ...] = (), formats: dict[str, Callable[[Any], str]] | None = None) -> HTML:
    """A DataFrame as an escaped HTML table; ``formats`` maps a column to a function. A list in a
    cell shows as a list, each item escaped."""
    formats = formats or {}
    head = "".join(f'<th class="{"num" if c in numeric else ""}">{escape(c)}</th>' for c in frame.columns)
    rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, record, strict=True):
            text = formats[column](value) if column in formats else value
            cls = "num" if column in numeric else ""
            cells.append(f'<td class="{cls}">{_cell(text)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return HTML(f'<table class="et-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>')


def cards(items: Sequence[tuple[str, str, str | None, float | None]]) -> HTML:
    """Headline cards: (label, value, delta text, delta sign) each."""
    parts = []
    for label, value, delta, sign in items:
        delta_html = ""
        if delta:
            cls = "up" if (sign or 0) > 0 else "down" if (sign or 0) < 0 else ""
            delta_html = f'<div class="et-delta {cls}">{escape(delta)}</div>'
        parts.append(f'<div class="et-card"><div class="et-value">{escape(value)}</div>'
                     f'<div class="et-label">{escape(label)}</div>{delta_html}</div>')
    return HTML(f'<div class="et-cards">{"".join(parts)}</div>')


def heading(title: str, subtitle: str = "", level: int = 1) -> HTML:
    sub = f'<div class="et-sub">{escape(subtitle)}</div>' if subtitle else ""
    return HTML(f'<div class="et-report"><h{level}>{escape(title)}</h{level}>{sub}</div>')


def note(text: str) -> HTML:
    return HTML(f'<p class="et-note">{escape(text)}</p>')


class Summary:
    """The report's key figures, recorded in the notebook as a JSON output the runner reads back."""

    def __init__(self, values: dict[str, Any]):
        self.values = values

    def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> dict[str, Any]:
        return {SUMMARY_MIME: json.loads(json.dumps(self.values, default=str)),
                "text/plain": f"summary: {len(self.values)} figures"}
