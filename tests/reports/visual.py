"""What a reader sees on a report page, read from headless Chromium once its charts are drawn, and
the checks tests/reports/test_visual.py makes on it.

``INSPECT_PAGE`` runs in the page (``Chromium.open(page, INSPECT_PAGE, screenshot=…)``, tests/conftest.py)
after the charts' drawing has settled, and returns plain JSON: per chart its title, axis and legend
titles and the marks plotly drew (bars and whether each shows, line paths, markers, pie slices,
heatmap images, text written on bars), the axes of counts with their ticks, hover templates; the
headline cards; every piece of visible text with the table column it sits in. The functions below
turn that into readable problems ("page: chart 'X': why"), so that a failing test names the page,
the chart and the offending text. ``png_pixels`` decodes the screenshot (no imaging library needed).
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

# email addresses, URLs and domain names: written as they are in any language
_ADDRESSES = re.compile(r"\S+@\S+|\bhttps?://\S+|\b(?:[\w-]+\.)+[a-z]{2,}\b", re.I)


def _as_written(text: str, names: tuple[str, ...]) -> str:
    """``text`` without what is the same in every language: proper names (points of sale, groups,
    portals, the workspace; the longest first), email addresses, URLs and domain names."""
    for name in sorted(names, key=len, reverse=True):
        if name:
            text = text.replace(name, " ")
    return _ADDRESSES.sub(" ", text)

INSPECT_PAGE = r"""(async () => {
  // plotly draws after its library has been unpacked, then may redraw once (responsive layout,
  // auto-margins): wait until the charts' SVG stops changing
  const pause = ms => new Promise(resolve => setTimeout(resolve, ms));
  let last = -1, same = 0;
  for (let i = 0; i < 100 && same < 4; i++) {
    await pause(50);
    const size = Array.from(document.querySelectorAll('.js-plotly-plot svg')).reduce(
      (n, svg) => n + svg.querySelectorAll('*').length, 0);
    same = size === last ? same + 1 : 0;
    last = size;
  }
  const shown = el => { const box = el.getBBox(); return box.width > 0.5 || box.height > 0.5; };
  const area = el => { const box = el.getBBox(); return box.width > 0.5 && box.height > 0.5; };
  const texts = (root, selector) => Array.from(root.querySelectorAll(selector))
    .map(el => el.textContent.trim()).filter(Boolean);
  const charts = Array.from(document.querySelectorAll('.js-plotly-plot')).map((gd, index) => {
    const layout = gd._fullLayout || {};
    const barTraces = Array.from(gd.querySelectorAll('.barlayer g.trace'));
    const stacked = ['stack', 'relative'].includes(layout.barmode) && barTraces.length > 1;
    // a bar that shows nothing: zero length and no value written. Within a stack only a whole
    // category counts (a zero segment may stay empty); on a time axis a day without leads is a gap
    const bars = [], categories = new Map();
    for (const group of barTraces) {
      const trace = (group.__data__ && group.__data__[0] && group.__data__[0].trace) || {};
      const horizontal = trace.orientation === 'h';
      const axis = layout[((horizontal ? trace.yaxis : trace.xaxis) || (horizontal ? 'y' : 'x')).replace(/^([xy])/, '$1axis')] || {};
      const values = horizontal ? trace.y : trace.x;
      const name = trace._input ? trace._input.name : trace.name;
      for (const point of group.querySelectorAll('g.point')) {
        const path = point.querySelector('path');
        const seen = (!!path && area(path)) || texts(point, 'text.bartext').length > 0;
        bars.push(seen);
        if (axis.type === 'date') continue;
        const i = point.__data__ ? point.__data__.i : -1;
        const category = String(values && i >= 0 ? values[i] : '?');
        const key = stacked ? category : (name ? name + ' · ' : '') + category;
        categories.set(key, (categories.get(key) || false) || seen);
      }
    }
    const hidden = Array.from(categories).filter(([, seen]) => !seen).map(([key]) => key);
    // axes (and colour bars) whose data are all whole numbers: counts, with their tick labels
    const values = new Map();
    const add = (key, list) => {
      const all = values.get(key) || [];
      for (const v of Array.from(list || [])) all.push(v);
      values.set(key, all);
    };
    for (const trace of gd._fullData || []) {
      if (trace.type === 'heatmap') { add('colorbar', [].concat(...Array.from(trace.z || []).map(r => Array.from(r)))); continue; }
      if (trace.type === 'pie') continue;
      add(trace.xaxis || 'x', trace.x);
      add(trace.yaxis || 'y', trace.y);
    }
    const counts = [];
    for (const [key, list] of values) {
      const name = key === 'colorbar' ? '' : key.replace(/^([xy])/, '$1axis');
      if (!list.length || !list.every(v => typeof v === 'number' && Number.isInteger(v))) continue;
      if (name && (layout[name] || {}).type !== 'linear') continue;
      const selector = key === 'colorbar' ? 'g[class^="ycb"][class$="tick"] text' : 'g.' + key + 'tick text';
      counts.push({axis: key, ticks: texts(gd, selector)});
    }
    const axes = Array.from(gd.querySelectorAll('.infolayer g'))
      .filter(g => /^g-[xy]\d*title$/.test(g.getAttribute('class') || ''))
      .map(g => ({axis: g.getAttribute('class').slice(2, -5), text: g.textContent.trim()}));
    return {
      index, id: gd.id, drawn: !!gd.querySelector('.main-svg'),
      title: texts(gd, '.g-gtitle .gtitle').join(' '),
      types: (gd._fullData || []).map(t => t.type),
      axes, legend_titles: texts(gd, '.legendtitletext'), colorbar_titles: texts(gd, '.cbtitle'),
      // what a reader sees on hovering (hover templates; plotly's own hover is figures only)
      hovers: (gd._fullData || []).flatMap(t => [].concat(t.hovertemplate || [])).filter(s => typeof s === 'string'),
      marks: {
        bars: bars.filter(Boolean).length,
        lines: Array.from(gd.querySelectorAll('.scatterlayer path.js-line')).filter(shown).length,
        markers: Array.from(gd.querySelectorAll('.scatterlayer .points path')).filter(shown).length,
        slices: Array.from(gd.querySelectorAll('.pielayer .slice path.surface')).filter(area).length,
        heatmaps: Array.from(gd.querySelectorAll('.hm image')).filter(area).length,
        bar_texts: texts(gd, '.barlayer text.bartext').length,
      },
      hidden_bars: hidden, count_axes: counts,
    };
  });
  const cards = Array.from(document.querySelectorAll('.et-card')).map(card => ({
    value: texts(card, '.et-value').join(' '), label: texts(card, '.et-label').join(' '),
    delta: texts(card, '.et-delta').join(' ')}));
  // visible text, one piece per block (cell, paragraph, heading, chart text), with its column
  const blocks = new Map();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!node.textContent.trim() || !parent || parent.closest('script, style, noscript, title')) continue;
    if (parent.getClientRects().length === 0) continue;  // not displayed
    const block = parent.closest('td, th, li, p, h1, h2, h3, h4, h5, h6, text, div') || parent;
    if (!blocks.has(block)) {
      const cell = block.closest('td');
      let column = '';
      if (cell) {
        const table = cell.closest('table');
        const head = table && table.tHead && table.tHead.rows[0];
        column = head && head.cells[cell.cellIndex] ? head.cells[cell.cellIndex].textContent.trim() : '';
      }
      blocks.set(block, {column, chart: !!block.closest('.js-plotly-plot'), parts: []});
    }
    blocks.get(block).parts.push(node.textContent);
  }
  const text = Array.from(blocks.values()).map(b => ({column: b.column, chart: b.chart,
    text: b.parts.join(' ').replace(/\s+/g, ' ').trim()}));
  return {charts, cards, text};
})()"""


@dataclass
class Page:
    """One report page as Chromium showed it (``INSPECT_PAGE``'s result)."""
    name: str
    language: str
    charts: list[dict[str, Any]]
    cards: list[dict[str, str]]
    text: list[dict[str, Any]]

    @classmethod
    def of(cls, name: str, language: str, shown: dict[str, Any]) -> Page:
        return cls(name, language, shown["charts"], shown["cards"], shown["text"])

    def chart_name(self, chart: dict[str, Any]) -> str:
        return f"chart {chart['index'] + 1} '{chart['title'] or '(untitled)'}'"


# ------------------------------------------------------------------ (a) every chart shows something

def charts_without_marks(page: Page) -> list[str]:
    """Charts that drew nothing a reader can see, and bars of zero length with no value written
    beside them (a 0 % bar must still show; a zero segment inside a stack may stay empty)."""
    problems = []
    for chart in page.charts:
        marks = chart["marks"]
        if not chart["drawn"]:
            problems.append(f"{page.name}: {page.chart_name(chart)}: not drawn (no SVG)")
        elif not any(marks[kind] for kind in ("bars", "lines", "markers", "slices", "heatmaps", "bar_texts")):
            problems.append(f"{page.name}: {page.chart_name(chart)}: no visible mark "
                            f"(traces {chart['types']}, marks {marks})")
        if chart["hidden_bars"]:
            problems.append(f"{page.name}: {page.chart_name(chart)}: bars of zero length with no value written: "
                            + ", ".join(chart["hidden_bars"]))
    return problems


# ------------------------------------------------------------------ (b) axis titles a reader understands

# what plotly (express) writes when it is given no title: pandas' default names and its own
PLACEHOLDER_TITLES = {"value", "variable", "index", "x", "y", "color", "count", "sum", "0", "1"}
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")


def bad_axis_titles(page: Page, column_ids: set[str]) -> list[str]:
    """Axis, legend and colour-bar titles that are a placeholder (value, variable, index…) or a raw
    column id (``point_of_sale``, ``local_hour``, or any column of the database's views)."""
    problems = []
    for chart in page.charts:
        titles = [(f"{a['axis']} axis", a["text"]) for a in chart["axes"]]
        titles += [("legend", t) for t in chart["legend_titles"]] + [("colour bar", t) for t in chart["colorbar_titles"]]
        for where, title in titles:
            if title.strip().lower() in PLACEHOLDER_TITLES or SNAKE_CASE.match(title) or title in column_ids:
                problems.append(f"{page.name}: {page.chart_name(chart)}: {where} titled {title!r}")
    return problems


# a decimal mark, whichever way it is written (French groups thousands with a space)
_FRACTION = {"fr": re.compile(r"\d[.,]\d"), "en": re.compile(r"\d\.\d|\d,\d{1,2}(?!\d)")}


def fractional_counts(page: Page) -> list[str]:
    """Axes and colour bars of counts (every value on them a whole number) with ticks between whole
    numbers (``0,5`` lead)."""
    problems = []
    for chart in page.charts:
        for axis in chart["count_axes"]:
            fractions = [tick for tick in axis["ticks"] if _FRACTION[page.language].search(tick)]
            if fractions:
                where = "colour bar" if axis["axis"] == "colorbar" else f"{axis['axis']} axis"
                problems.append(f"{page.name}: {page.chart_name(chart)}: {where} of counts with fractional ticks "
                                f"{fractions}")
    return problems


# numbers written in the other language's way: a decimal point or a thousands comma on a French
# page; a decimal comma or a space before % on an English one
_FOREIGN_NUMBER = {"fr": re.compile(r"\d\.\d|\d,\d{3}(?!\d)"),
                   "en": re.compile(r"\d,\d{1,2}(?!\d)|\d[\u00a0\u202f ]%")}


def numbers_in_the_wrong_format(page: Page, names: tuple[str, ...]) -> list[str]:
    """Visible text (charts included) with a number written the other language's way (``29.3%``
    on a French page); addresses, domains and proper names are left out."""
    problems = []
    for block in page.text:
        if _FOREIGN_NUMBER[page.language].search(_as_written(block["text"], names)):
            where = "chart" if block["chart"] else (f"column {block['column']!r}" if block["column"] else "text")
            problems.append(f"{page.name}: number not written the {page.language} way in {where}: "
                            f"{block['text'][:120]!r}")
    return list(dict.fromkeys(problems))  # a tick label repeated on every axis: once


# ------------------------------------------------------------------ (c) no English on a French page

# English words that are not French words too (no "on", "a", "an", "as", "or", "but", "if", "are",
# "per", "lead"), so that one of them in a French page's text is English written there
ENGLISH_WORDS = frozenset("""
the of and for with since where were was is has have had been not no this that these those from into
than then there their its it which who whom what when while after before each every only still should
would could will does did doesn't don't isn't wasn't by at to until about above below without within
days day months month weeks week year years expected received reached missing tracked check forwards
forwarded stopped silent share previous last average network unknown available
""".split())
_WORD = re.compile(r"[\w'’]+")


def english_words(text: str, names: tuple[str, ...] = ()) -> list[str]:
    """The English words of ``text`` (lower case, in order), once proper names (``names``: points of
    sale, portals, groups), email addresses, URLs and domain names are taken out."""
    found = []
    for word in _WORD.findall(_as_written(text, names)):
        word = word.lower().replace("’", "'").strip("'")
        if "_" in word or any(c.isdigit() for c in word):  # an id (point_of_sale), a number, a date
            continue
        if word.endswith("'s"):  # the network's trend
            word = word[:-2]
        if word in ENGLISH_WORDS:
            found.append(word)
    return found


_PLACEHOLDER = re.compile(r"%\{[^}]*\}|<[^>]*>")


def english_on_french_page(page: Page, names: tuple[str, ...], free_columns: tuple[str, ...]) -> list[str]:
    """Pieces of visible text with an English word in them, charts and their hover texts included;
    the cells of ``free_columns`` (email subjects quoted as examples) are left out: they are what
    senders wrote."""
    problems = []
    for chart in page.charts:
        for template in dict.fromkeys(chart["hovers"]):
            words = english_words(_PLACEHOLDER.sub(" ", template), names)
            if words:
                problems.append(f"{page.name}: English in {page.chart_name(chart)}'s hover "
                                f"({', '.join(sorted(set(words)))}): {template!r}")
    for block in page.text:
        if block["column"] in free_columns:
            continue
        words = english_words(block["text"], names)
        if words:
            where = "chart" if block["chart"] else (f"column {block['column']!r}" if block["column"] else "text")
            problems.append(f"{page.name}: English in {where} ({', '.join(sorted(set(words)))}): {block['text'][:200]!r}")
    return problems


# ------------------------------------------------------------------ (d) figures as the database has them

_SPACES = re.compile(r"[\s\u00a0\u202f\u2009]")


def parse_figure(text: str, language: str) -> float | None:
    """A number or percentage as the reports write it (``1 234``, ``87,6 %``, ``−5,2 %``; ``1,234``,
    ``87.6%``), as a float (a percentage as a fraction); None for n/d, n/a. ValueError otherwise."""
    text = _SPACES.sub("", text).replace("\u2212", "-")
    if text.lower() in ("n/d", "n/a"):
        return None
    share = text.endswith("%")
    text = text.rstrip("%")
    text = text.replace(",", ".") if language == "fr" else text.replace(",", "")
    if not re.fullmatch(r"[+-]?\d+(?:\.\d+)?", text):
        raise ValueError(f"not a figure: {text!r}")
    return float(text) / 100 if share else float(text)


def same_figure(shown: float | None, expected: float | None, share: bool) -> bool:
    if shown is None or expected is None:
        return shown is expected
    # a percentage is shown to 0.1 point
    return abs(shown - expected) <= 0.0005 + 1e-9 if share else shown == expected


def cards_against(page: Page, expected: dict[str, tuple[float | None, bool]], required: tuple[str, ...]) -> list[str]:
    """The headline cards whose value differs from ``expected`` (card label -> (value, is a
    percentage)), and the ``required`` labels no card has."""
    problems = []
    shown = {card["label"]: card for card in page.cards}
    for label in required:
        if label not in shown:
            problems.append(f"{page.name}: no headline card {label!r} (cards: {sorted(shown)})")
    for label, (value, share) in expected.items():
        card = shown.get(label)
        if card is None:
            continue
        try:
            figure = parse_figure(card["value"], page.language)
        except ValueError:
            problems.append(f"{page.name}: card {label!r} shows {card['value']!r}, not a figure")
            continue
        if not same_figure(figure, value, share):
            problems.append(f"{page.name}: card {label!r} shows {card['value']!r}, the database says "
                            f"{'n/d' if value is None else value}")
    return problems


# ------------------------------------------------------------------ the screenshot

def png_pixels(png: bytes) -> np.ndarray:
    """The pixels of an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium writes), as an
    array (height, width, channels): the PNG format's five row filters undone."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, compressed, header = 8, [], None
    while position < len(png):
        (length,) = struct.unpack(">I", png[position:position + 4])
        kind, body = png[position + 4:position + 8], png[position + 8:position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            compressed.append(body)
    assert header is not None, "no IHDR"
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    bpp = 3 if colour == 2 else 4
    stride = width * bpp
    raw = np.frombuffer(zlib.decompress(b"".join(compressed)), dtype=np.uint8).reshape(height, stride + 1)
    out = np.zeros((height, stride), dtype=np.uint8)
    previous = np.zeros(stride, dtype=np.uint8)
    for y in range(height):
        kind, line = raw[y, 0], raw[y, 1:]
        if kind == 0:
            row = line.copy()
        elif kind == 1:  # Sub: a running sum along the row, per channel
            row = (np.cumsum(line.reshape(width, bpp), axis=0, dtype=np.uint64) % 256).astype(np.uint8).reshape(-1)
        elif kind == 2:  # Up
            row = line + previous
        else:  # Average and Paeth depend on the byte just decoded: byte by byte
            row = bytearray(stride)
            data, up = line.tobytes(), previous.tobytes()
            for i in range(stride):
                left = row[i - bpp] if i >= bpp else 0
                if kind == 3:
                    row[i] = (data[i] + ((left + up[i]) >> 1)) & 0xFF
                    continue
                corner = up[i - bpp] if i >= bpp else 0
                estimate = left + up[i] - corner
                to_left, to_up, to_corner = abs(estimate - left), abs(estimate - up[i]), abs(estimate - corner)
                if to_left <= to_up and to_left <= to_corner:
                    predicted = left
                elif to_up <= to_corner:
                    predicted = up[i]
                else:
                    predicted = corner
                row[i] = (data[i] + predicted) & 0xFF
            row = np.frombuffer(bytes(row), dtype=np.uint8)
        out[y] = row
        previous = row
    return out.reshape(height, width, bpp)


def ink(png: bytes) -> float:
    """The share of the screenshot's pixels that are not (nearly) white."""
    pixels = png_pixels(png)[:, :, :3]
    return float((pixels.min(axis=2) < 240).mean())
