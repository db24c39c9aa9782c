"""How every chart looks, chosen once for the reports and the email's pictures alike: the palette
(one colour per portal, the same in every report), numbers written the language's way on axes,
hover labels and pie slices (``1 234``, ``29,3 %``), and counts on whole-number axes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import plotly.express as px
import plotly.graph_objects as go

# the qualitative palette, colour-blind safe (plotly's "Safe"), then softer tints for long lists
PALETTE: list[str] = list(px.colors.qualitative.Safe) + list(px.colors.qualitative.Pastel)
UNKNOWN = "#9e9e9e"   # the unknown portal, "no group": grey, never a palette colour
FLAGGED = "#b0b0b0"   # a figure whose change comes from tracking, not from sales
RISE, FALL = PALETTE[0], PALETTE[1]
CURRENT, PREVIOUS = PALETTE[0], "#c7cdd6"  # this month, and the period compared with it


def separators(language: str) -> str:
    """plotly's decimal then thousands separator: ``1 234,5`` in French, ``1,234.5`` in English."""
    return ", " if language == "fr" else ".,"


def portal_colors(catalogue: Sequence[str]) -> dict[str, str]:
    """One colour per portal id, by the portal's place in the catalogue (ids sorted): a portal keeps
    its colour in every report, month after month, whatever its rank. '' (unknown) is grey."""
    colors = {portal: PALETTE[i % len(PALETTE)] for i, portal in enumerate(sorted(set(catalogue) - {""}))}
    colors[""] = UNKNOWN
    return colors


def series_colors(names: Iterable[str]) -> dict[str, str]:
    """Colours for names outside the catalogue (groups): the palette in the given order."""
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}


def whole_ticks(top: float) -> dict[str, Any]:
    """Axis settings that put counts on whole numbers: about five ticks, never a fraction."""
    step, scale = 1, 1
    while top / step > 6:
        for base in (2, 5, 10):
            step = base * scale
            if top / step <= 6:
                break
        scale *= 10
    return dict(tick0=0, dtick=step, tickformat=",d", rangemode="tozero")


def count_axis(fig: go.Figure, top: float, axis: str = "y") -> go.Figure:
    """Put the counts of ``fig`` (up to ``top``) on whole numbers along ``axis``."""
    settings = whole_ticks(max(float(top), 1.0))
    (fig.update_yaxes if axis == "y" else fig.update_xaxes)(**settings)
    return fig


def styled(fig: go.Figure, language: str) -> go.Figure:
    """The look every report chart shares: white background, the language's separators, the
    legend under the chart (a long legend beside it is clipped), titles at the left."""
    fig.update_layout(template="plotly_white", separators=separators(language),
                      font=dict(family="system-ui, -apple-system, Segoe UI, Arial, sans-serif", size=12),
                      title=dict(x=0.01, xanchor="left"),
                      legend=dict(orientation="h", yanchor="top", y=-0.18, x=0, xanchor="left", title_text=""),
                      margin=dict(l=10, r=20, t=50, b=10))
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig
