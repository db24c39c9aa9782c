"""HTML pieces for report notebooks: charts that survive nbconvert, escaped tables, headline cards.

nbconvert keeps ``text/html`` outputs but drops plotly's JSON-only output, so each chart is
emitted as an HTML ``<div>`` plus the script that draws it, and plotly.js itself is embedded
once (``plotly_js``) so the exported report opens offline.

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

import html
import json
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

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


def plotly_js() -> HTML:
    """plotly.js, inline, once per report; with the report's CSS."""
    return HTML(STYLE + f'<script type="text/javascript">{get_plotlyjs()}</script>')


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
    """A plotly figure as a self-drawing ``<div>`` (plotly.js must already be on the page); the
    traces' text escaped so that plotly draws it as written."""
    fig = escape_chart_text(fig)
    if height:
        fig.update_layout(height=height)
    markup = fig.to_html(full_html=False, include_plotlyjs=False,
                         config={"displaylogo": False, "responsive": True})
    return HTML(f'<div class="et-chart">{markup}</div>')


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
