"""How every chart looks, chosen once for the reports and the email's pictures alike: the palette
(one colour per portal, the same in every report), numbers written the language's way on axes,
hover labels and pie slices (``1 234``, ``29,3 %``), and counts on whole-number axes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import plotly.express as px
import plotly.graph_objects as go

# the qualitative palette, colour-blind safe (plotly's "Safe"), then softer tints for long lists;
# without Safe's grey, which means "unknown" or "tracking failed" here
PALETTE: list[str] = [c for c in list(px.colors.qualitative.Safe) + list(px.colors.qualitative.Pastel)
                      if c.replace(" ", "") not in ("rgb(136,136,136)", "rgb(179,179,179)")]
UNKNOWN = "#9e9e9e"   # the unknown portal, "no group": grey, never a palette colour
FLAGGED = "#b0b0b0"   # a figure whose change comes from tracking, not from sales
RISE, FALL = PALETTE[0], PALETTE[1]
CURRENT, PREVIOUS = PALETTE[0], "#c7cdd6"  # this month, and the period compared with it
AVERAGE = "#44546a"   # an average drawn beside a figure (group, network): dark, dotted or dashed


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


def count_colorbar(top: float) -> dict[str, Any]:
    """A heatmap colour bar of counts up to ``top`` on whole numbers (a colour bar has no range mode)."""
    ticks = whole_ticks(max(float(top), 1.0))
    return dict(tick0=0, dtick=ticks["dtick"], tickformat=ticks["tickformat"])


def count_axis(fig: go.Figure, top: float, axis: str = "y") -> go.Figure:
    """Put the counts of ``fig`` (up to ``top``) on whole numbers along ``axis``."""
    settings = whole_ticks(max(float(top), 1.0))
    (fig.update_yaxes if axis == "y" else fig.update_xaxes)(**settings)
    return fig


def styled(fig: go.Figure, language: str) -> go.Figure:
    """The look every report chart shares: white background, the language's separators, the
    legend in one row above the plot (beside it, a long legend is clipped; below it, it runs into
    rotated axis labels), titles at the left."""
    fig.update_layout(template="plotly_white", separators=separators(language),
                      font=dict(family="system-ui, -apple-system, Segoe UI, Arial, sans-serif", size=12),
                      title=dict(x=0.01, xanchor="left", y=0.98, yanchor="top"),
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0, xanchor="left", title_text=""),
                      margin=dict(l=10, r=20, t=80, b=10))
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig
