"""Each report kind, for the network and per point of sale, as a reader sees it in headless
Chromium (screenshots kept under the test's temporary folder): every chart shows marks, no axis is
titled value/variable/index or with a raw column id, a French page has no English sentence, and the
headline figures are the database's (tests/reports/visual.py reads the pages)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import pytest

from emailtrack_analytics.analytics.api import Analytics
from emailtrack_analytics.config.months import shift_month
from emailtrack_analytics.config.workspace import open_workspace
from emailtrack_analytics.reports import html as h
from emailtrack_analytics.reports.distribution import portals_for_share
from emailtrack_analytics.reports.labels import labels
from emailtrack_analytics.reports.runner import has_data
from tests.conftest import SAMPLE_END_MONTH, run_cli
from tests.reports import visual
from tests.reports.visual import INSPECT_PAGE, Page

MONTH = SAMPLE_END_MONTH
KINDS = ("monthly", "distribution", "health")
SOUND, FLAGGED = "paris-11", "lyon-2"  # lyon-2's leboncoin leads lose their CC in the last month
PAGES = ([(kind, pos, "fr") for kind in KINDS for pos in ("", SOUND, FLAGGED)]  # the sample's language
         + [("monthly", "", "en"), ("distribution", FLAGGED, "en"), ("health", FLAGGED, "en")])
FRENCH = [page for page in PAGES if page[2] == "fr"]


def page_id(page: tuple[str, str, str]) -> str:
    kind, pos, language = page
    return f"{kind}-{pos or 'network'}-{language}"


@pytest.fixture(scope="module")
def written(sample_workspace, tmp_path_factory) -> dict[tuple[str, str, str], Path]:
    """Every page of ``PAGES``, written once by the command a user runs."""
    out = tmp_path_factory.mktemp("visual-reports")
    pages = {}
    for kind, pos, language in PAGES:
        result = run_cli("--workspace", sample_workspace, "report", kind, "--month", MONTH, "--lang", language,
                         "--out", out / language, *(["--point-of-sale", pos] if pos else []))
        assert result.code == 0, result.err
        pages[kind, pos, language] = Path(result.out.strip())
    return pages


@pytest.fixture(scope="module")
def shown(written, chromium, tmp_path_factory) -> dict[tuple[str, str, str], tuple[Page, Path]]:
    """Each page as Chromium drew it, and its screenshot (a PNG of the whole page, 1280 px wide)."""
    shots = tmp_path_factory.mktemp("visual-screenshots")
    pages = {}
    for key, path in written.items():
        png = shots / f"{page_id(key)}.png"
        visit, seen = chromium.open(path, INSPECT_PAGE, screenshot=png)
        assert visit.errors == [], (path.name, visit.errors)
        pages[key] = Page.of(f"{page_id(key)} ({path.name})", key[2], seen), png
    print(f"screenshots in {shots}")
    return pages


@pytest.fixture(scope="module")
def names(sample_workspace) -> tuple[str, ...]:
    """Proper names a page shows as they are: the workspace, points of sale, groups, portals."""
    workspace = open_workspace(sample_workspace)
    with Analytics(workspace) as data:
        portals = data.sql("SELECT id, name FROM portal_catalogue")
    return (workspace.name, *(p.name for p in workspace.points_of_sale), *(p.group or "" for p in workspace.points_of_sale),
            *portals["name"], *portals["id"])


@pytest.fixture(scope="module")
def column_ids(sample_workspace) -> set[str]:
    """The column names of every table and view of the database."""
    with Analytics(sample_workspace) as data:
        return set(data.sql("SELECT DISTINCT column_name FROM information_schema.columns")["column_name"])


# --------------------------------------------------------------------------- the pages

@pytest.mark.chromium
@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_every_chart_shows_marks(shown, page):
    seen, _ = shown[page]
    assert seen.charts, f"{seen.name}: no chart"
    problems = visual.charts_without_marks(seen)
    assert not problems, "\n".join(problems)


@pytest.mark.chromium
@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_no_axis_titled_with_a_placeholder_or_a_column_id(shown, column_ids, page):
    seen, _ = shown[page]
    problems = visual.bad_axis_titles(seen, column_ids)
    assert not problems, "\n".join(problems)


@pytest.mark.chromium
@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_counts_on_whole_number_axes(shown, page):
    seen, _ = shown[page]
    problems = visual.fractional_counts(seen)
    assert not problems, "\n".join(problems)


@pytest.mark.chromium
@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_numbers_written_the_pages_way(shown, names, page):
    seen, _ = shown[page]
    problems = visual.numbers_in_the_wrong_format(seen, names)
    assert not problems, "\n".join(problems)


@pytest.mark.chromium
@pytest.mark.parametrize("page", FRENCH, ids=page_id)
def test_no_english_on_a_french_page(shown, names, page):
    seen, _ = shown[page]
    assert len(seen.text) > 10, f"{seen.name}: no text read"
    problems = visual.english_on_french_page(seen, names, free_columns=(labels("fr")["examples"],))
    assert not problems, "\n".join(problems)


@pytest.mark.chromium
@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_headline_figures_are_the_databases(shown, sample_workspace, page):
    kind, pos, language = page
    seen, _ = shown[page]
    expected, required = expected_cards(sample_workspace, kind, pos or None, language)
    problems = visual.cards_against(seen, expected, required)
    if kind == "monthly":
        problems += previous_month_against(seen, sample_workspace, pos or None, language)
    if kind == "distribution":
        problems += top_portal_against(seen, sample_workspace, pos or None, language)
    assert not problems, "\n".join(problems)


@pytest.mark.chromium
@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_the_screenshot_is_not_blank(shown, page):
    seen, png = shown[page]
    data = png.read_bytes()
    width, height = struct.unpack(">II", data[16:24])
    assert width == 1280 and height > 600, (seen.name, width, height)
    # text, tables and charts: a page that drew nothing (or only its title) is nearly all white
    assert visual.ink(data) > 0.02, f"{seen.name}: {visual.ink(data):.2%} of the screenshot is not white ({png})"


def expected_cards(workspace: Path, kind: str, pos: str | None,
                   language: str) -> tuple[dict[str, tuple[float | None, bool]], tuple[str, ...]]:
    """What the headline cards must read, from the views (``Analytics.figures``, ``coverage``):
    card label -> (value, is a percentage); and the labels a page must have."""
    t = labels(language)
    lead_label = t["point_of_sale_leads"] if pos else t["network_leads"]
    with Analytics(workspace) as data:
        if kind == "health":
            where, params = "month = ?", [MONTH]
            if pos:
                where += " AND point_of_sale = ?"
                params.append(pos)
            row = data.sql(f"SELECT coalesce(sum(expected), 0) AS expected, coalesce(sum(tracked), 0) AS tracked "
                           f"FROM coverage WHERE {where}", params).iloc[0]
            expected, tracked = int(row["expected"]), int(row["tracked"])
            return ({t["expected"]: (expected, False), t["tracked"]: (tracked, False),
                     t["coverage"]: (tracked / expected if expected else None, True)},
                    (t["expected"], t["tracked"], t["coverage"]))
        figures = data.figures(MONTH, pos)
    cards: dict[str, tuple[float | None, bool]] = {lead_label: (figures["network_leads"], False)}
    if not pos:
        cards[t["point_of_sale_rows"]] = (figures["point_of_sale_leads"], False)
    if kind == "monthly":
        last_year = shift_month(MONTH, -12)
        with Analytics(workspace) as data:
            before = data.figures(last_year, pos)["network_leads"]
        # no data that month (the sample starts later): n/d, never a 0 that reads as no lead
        known = has_data(open_workspace(workspace), "monthly", last_year, pos)
        cards[t["last_year"]] = (before if known else None, False)
        cards[t["copies"]] = (figures["tracking_lead_copies"], False)
        cards[t["mailbox_copies"]] = (figures["mailbox_copies"], False)
        if not pos:
            cards[t["active_points_of_sale"]] = (len(figures["leads_by_point_of_sale"]), False)
    else:
        cards[t["portals_for_80"]] = (portals_for_share(pd.Series(figures["leads_by_portal"], dtype=int)), False)
    return cards, (lead_label,)


def previous_month_against(seen: Page, workspace: Path, pos: str | None, language: str) -> list[str]:
    """The previous month's figure, written under the month's lead figure (``Mois précédent : 123 (…)``)."""
    t = labels(language)
    label = t["point_of_sale_leads"] if pos else t["network_leads"]
    with Analytics(workspace) as data:
        before = data.figures(shift_month(MONTH, -1), pos)["network_leads"]
    for card in seen.cards:
        if card["label"] == label and card["delta"].startswith(t["previous_month"]):
            text = card["delta"][len(t["previous_month"]):].lstrip(" :\u00a0\u202f").split("(")[0]
            shown = visual.parse_figure(text, language)
            return [] if shown == before else [f"{seen.name}: {t['previous_month']!r} shows {text.strip()!r}, "
                                                f"the database says {before}"]
    return []


def top_portal_against(seen: Page, workspace: Path, pos: str | None, language: str) -> list[str]:
    """The top portal's card: a portal with the most leads, and its share of the leads."""
    t = labels(language)
    with Analytics(workspace) as data:
        counts = data.figures(MONTH, pos)["leads_by_portal"]
        names = dict(data.sql("SELECT id, name FROM portal_catalogue").itertuples(index=False))
    names[""] = t["unknown_portal"]
    top = max(counts.values())
    card = next((c for c in seen.cards if c["label"] == t["top_portal"]), None)
    if card is None:
        return []
    leaders = {names.get(portal, portal) for portal, n in counts.items() if n == top}
    problems = [] if card["value"] in leaders else [
        f"{seen.name}: card {t['top_portal']!r} shows {card['value']!r}, the database says {sorted(leaders)}"]
    share = visual.parse_figure(card["delta"], language)
    if not visual.same_figure(share, top / sum(counts.values()), share=True):
        problems.append(f"{seen.name}: card {t['top_portal']!r} shows a share of {card['delta']!r}, the database "
                        f"says {top} of {sum(counts.values())}")
    return problems


# --------------------------------------------------------------------------- the checks themselves

FRENCH_SENTENCES = [
    "bordeaux-chartrons : aucun lead depuis 166 jours (depuis le 17/06/2026), 42 attendus d'après son historique",
    "Leads (par point de vente) : un par lead et par point de vente qu'il a atteint ; leur somme dépasse les leads du réseau.",
    "On compte un lead une fois, or il a atteint deux groupes : il compte dans les deux.",
    "Le but est d'avoir une couverture à 100 % ; à défaut, vérifiez la règle de transfert.",
    "Même mois l'an dernier : n/d",
    "Copie (CC) absente · Règle du client mail (hors heures) · Boîte jamais transférée",
    'Ajoutez [[tracked_addresses]] address = "lyon2-seloger@track.example.net" point_of_sale = "lyon-2"',
]
ENGLISH_SENTENCES = [
    "bordeaux-chartrons: no lead for 166 days since 2026-06-17",
    "check that contact@chartrons-immobilier.fr still forwards to bordeaux-chartrons@track.example.net",
    "Leads received but not tracked",
    "42 expected from its own history and the network's trend",
    "Coverage by point of sale",
    "Same month last year",
]


@pytest.mark.parametrize("sentence", FRENCH_SENTENCES)
def test_french_sentences_have_no_english_word(sentence):
    assert visual.english_words(sentence, names=("Agence Bordeaux Chartrons",)) == []


@pytest.mark.parametrize("sentence", ENGLISH_SENTENCES)
def test_english_sentences_are_found(sentence):
    assert visual.english_words(sentence)


def test_proper_names_and_addresses_are_not_read_as_english():
    assert visual.english_words("Agence The Place – Lyon", names=("Agence The Place – Lyon",)) == []
    assert visual.english_words("écrit par the-agency@for-sale.example.com") == []


@pytest.mark.parametrize("text, language, value", [
    ("1\u202f234", "fr", 1234), ("87,6\u00a0%", "fr", 0.876), ("\u22125,2\u00a0%", "fr", -0.052), ("n/d", "fr", None),
    ("1,234", "en", 1234), ("87.6%", "en", 0.876), ("+3.1%", "en", 0.031), ("n/a", "en", None), ("0", "fr", 0)])
def test_figures_are_read_as_written(text, language, value):
    assert visual.parse_figure(text, language) == (None if value is None else pytest.approx(value))


def test_a_word_is_not_a_figure():
    with pytest.raises(ValueError):
        visual.parse_figure("SeLoger", "fr")


def png(pixels: np.ndarray, filters: list[int]) -> bytes:
    """``pixels`` (height, width, 3) as a PNG whose row y uses the filter ``filters[y]``."""
    height, width, bpp = pixels.shape
    rows, previous = [], np.zeros(width * bpp, dtype=np.int32)
    for y in range(height):
        row = pixels[y].reshape(-1).astype(np.int32)
        left = np.concatenate([np.zeros(bpp, dtype=np.int32), row[:-bpp]])
        corner = np.concatenate([np.zeros(bpp, dtype=np.int32), previous[:-bpp]])
        estimate = left + previous - corner
        paeth = np.where((abs(estimate - left) <= abs(estimate - previous)) & (abs(estimate - left) <= abs(estimate - corner)),
                         left, np.where(abs(estimate - previous) <= abs(estimate - corner), previous, corner))
        predicted = [0, left, previous, (left + previous) // 2, paeth][filters[y]]
        rows.append(bytes([filters[y]]) + ((row - predicted) % 256).astype(np.uint8).tobytes())
        previous = row

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b""))


def test_png_rows_are_decoded_whatever_their_filter():
    pixels = np.random.default_rng(13).integers(0, 256, size=(10, 7, 3), dtype=np.uint8)
    encoded = png(pixels, [0, 1, 2, 3, 4, 4, 3, 2, 1, 0])
    assert (visual.png_pixels(encoded) == pixels).all()
    white = np.full((10, 10, 3), 255, dtype=np.uint8)
    assert visual.ink(png(white, [1] * 10)) == 0
    white[2:4, :, :] = 0
    assert visual.ink(png(white, [4] * 10)) == pytest.approx(0.2)


@pytest.mark.chromium
def test_the_checks_find_a_bad_chart(chromium, tmp_path, column_ids):
    """A page with the defects the checks look for: plotly express's default titles, a 0 bar
    with nothing written, a chart without data, a raw column id, an English title."""
    wide = pd.DataFrame({"lyon-2": [0.0, 0.65], "paris-9": [0.3, 0.8]}, index=["sept.", "oct."])
    defaults = px.bar(wide, barmode="group", title="Couverture")  # axes value / index, legend variable
    zero = go.Figure(go.Bar(x=[0, 0.65], y=["Agence A", "Agence B"], orientation="h",
                            hovertemplate="%{y} : %{x} of the leads<extra></extra>"))
    zero.update_layout(title="Coverage of the points of sale", xaxis_title="point_of_sale", yaxis_title="Agence")
    empty = go.Figure(go.Bar(x=[], y=[]))
    empty.update_layout(title="Vide", xaxis_title="Mois", yaxis_title="Leads")
    counts = go.Figure(go.Heatmap(z=[[0, 1], [3, 2]], x=["Agence A", "Agence B"], y=["SeLoger", "PAP"]))
    counts.update_layout(title="Leads")
    shares = go.Figure(go.Pie(labels=["Agence A", "Agence B"], values=[1, 2]))
    shares.update_layout(title="Part")
    page = tmp_path / "defects.html"
    page.write_text("<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>" + str(h.plotly_js())
                    + "".join(str(h.figure(fig, 400)) for fig in (defaults, zero, empty, counts, shares)) + "</body></html>",
                    encoding="utf-8")
    _, seen = chromium.open(page, INSPECT_PAGE)
    shown = Page.of("defects", "fr", seen)
    marks = "\n".join(visual.charts_without_marks(shown))
    assert "chart 2 'Coverage of the points of sale': bars of zero length with no value written: Agence A" in marks
    assert "chart 3 'Vide': no visible mark" in marks
    assert "chart 1 'Couverture': bars of zero length with no value written: lyon-2 · sept." in marks
    titles = "\n".join(visual.bad_axis_titles(shown, column_ids))
    for defect in ("chart 1 'Couverture': x axis titled 'index'", "chart 1 'Couverture': y axis titled 'value'",
                   "chart 1 'Couverture': legend titled 'variable'", "chart 2 'Coverage of the points of sale': "
                   "x axis titled 'point_of_sale'"):
        assert defect in titles, titles
    assert "Agence" not in titles and "Mois" not in titles
    assert visual.fractional_counts(shown) == ["defects: chart 4 'Leads': colour bar of counts with fractional ticks "
                                               "['0.5', '1.5', '2.5']"]
    formats = visual.numbers_in_the_wrong_format(shown, names=("Agence A", "Agence B"))
    # plotly's own formatting without the page's separators: the pie's labels, the axes' ticks
    assert {"defects: number not written the fr way in chart: '33.3%'",
            "defects: number not written the fr way in chart: '0.6'"} <= set(formats), formats
    english = visual.english_on_french_page(shown, names=("Agence A", "Agence B"), free_columns=())
    assert english == ["defects: English in chart 2 'Coverage of the points of sale''s hover (of, the): "
                       "'%{y} : %{x} of the leads<extra></extra>'",
                       "defects: English in chart (of, the): 'Coverage of the points of sale'"]
