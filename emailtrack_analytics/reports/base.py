"""What every report shares: opening the workspace, the month, names and labels, the page head."""

from __future__ import annotations

import datetime as dt
from typing import Any, Self

import pandas as pd
import plotly.graph_objects as go

from .. import settings
from ..analytics import health
from ..analytics.api import Analytics
from . import html as h
from .email_facts import TrackingFlag, tracking_flags
from .health_text import flag_short
from .labels import date, labels, month_name
from .style import PALETTE, portal_colors, styled

__all__ = ["PALETTE", "Report", "change"]


def change(current: float, previous: float | None) -> float | None:
    """Relative change, or None when there is nothing to compare with."""
    if not previous:
        return None
    return (current - previous) / previous


class Report:
    """A report for one month, for the network or one point of sale."""

    title_key = "monthly_title"

    def __init__(self, data: Analytics, month: str, point_of_sale: str | None = None, language: str = ""):
        self.data = data
        self.workspace = data.workspace
        self.month = month
        self.point_of_sale = point_of_sale or None
        self.language = language or data.workspace.language
        self.t = labels(self.language)

    @classmethod
    def load(cls, workspace: str = "", month: str = "", point_of_sale: str = "", language: str = "") -> Self:
        """Open the workspace (parameter, else $EMAILTRACK_WORKSPACE, else the current folder);
        an empty month means the latest month with leads."""
        data = Analytics(workspace or settings.workspace_dir())
        if point_of_sale and data.workspace.point_of_sale(point_of_sale) is None:
            raise ValueError(f"unknown point of sale {point_of_sale!r}")
        if not month:
            months = data.months()
            month = months[-1] if months else dt.date.today().strftime("%Y-%m")
        return cls(data, month, point_of_sale or None, language or data.workspace.language)

    # ------------------------------------------------------------------ names
    def pos_names(self) -> dict[str, str]:
        return {p.id: p.name for p in self.workspace.points_of_sale}

    def pos_groups(self) -> dict[str, str]:
        return {p.id: p.group or "" for p in self.workspace.points_of_sale}

    def portal_names(self) -> dict[str, str]:
        if not hasattr(self, "_portal_names"):
            frame = self.data.sql("SELECT id, name FROM portal_catalogue")
            self._portal_names = dict(zip(frame["id"], frame["name"], strict=True))
        return self._portal_names

    def portal_label(self, portal: str | float | None) -> str:  # float: NaN from a frame
        if portal is None or portal == "" or isinstance(portal, float) and pd.isna(portal):
            return str(self.t["unknown_portal"])
        return self.portal_names().get(str(portal), str(portal))

    def pos_label(self, pos: str | float | None) -> str:  # float: NaN from a frame
        if pos is None or isinstance(pos, float) and pd.isna(pos):
            return str(self.t["unknown_point_of_sale"])
        return self.pos_names().get(str(pos), str(pos))

    def portal_colors(self) -> dict[str, str]:
        """Each portal's colour, the same in every report (style.portal_colors)."""
        return portal_colors(list(self.portal_names()))

    def portal_color(self, portal: object) -> str:
        colors = self.portal_colors()
        return colors.get(portal if isinstance(portal, str) else "", colors[""])

    def group_label(self, group: object) -> str:
        return group if isinstance(group, str) and group else self.t["no_group"]

    # ------------------------------------------------------------------ which figure
    def lead_label(self) -> str:
        """The name of the lead figure this report counts (analytics/views/045_figures.sql): the point of
        sale's leads in a point of sale's report, else the network leads."""
        return str(self.t["point_of_sale_leads"] if self.point_of_sale else self.t["network_leads"])

    def scoped(self, key: str) -> str:
        """A label naming the lead figure of this report's scope (``key`` or ``key_pos``)."""
        return str(self.t.get(f"{key}_pos", self.t[key]) if self.point_of_sale else self.t[key])

    def tracking_flags(self) -> dict[str, TrackingFlag]:
        """The points of sale whose tracking failed this month (low coverage, silence), read once:
        every row and chart that shows their figures carries the flag (without the likely cause of
        the missing leads: the page's flag is short, and the health report gives the causes)."""
        if not hasattr(self, "_flags"):
            found = health.silences(self.data, self.month)
            self._flags = tracking_flags(self.data, self.month, found, self.point_of_sale, causes=False)
        return self._flags

    def flag(self, point_of_sale: object) -> str:
        """The short flag of a point of sale's tracking ('' when sound) for a table cell or a hover."""
        return flag_short(self.tracking_flags().get(str(point_of_sale)), self.language)

    def chart(self, fig: go.Figure, height: int | None = None) -> h.HTML:
        """A chart in the reports' shared look (style.styled): the language's numbers, the legend below."""
        return h.figure(styled(fig, self.language), height)

    def definitions(self) -> h.HTML:
        """What each figure means, once per page."""
        return h.note(self.t["definitions"])

    # ------------------------------------------------------------------ page
    def setup(self) -> h.HTML:
        """plotly.js and the report's style: call once, first."""
        return h.plotly_js()

    def title(self) -> h.HTML:
        scope = self.pos_label(self.point_of_sale) if self.point_of_sale else self.workspace.name
        generated = date(dt.date.today(), self.language)
        return h.heading(f"{self.t[self.title_key]} — {month_name(self.month, self.language)}",
                         f"{scope} · {self.t['generated']} {generated}")

    def section(self, key: str) -> h.HTML:
        return h.heading(self.t[key], level=2)

    def figures(self) -> dict[str, Any]:  # pragma: no cover - each report defines its own
        raise NotImplementedError

    def summary(self) -> h.Summary:
        """The report's key figures, recorded in the notebook for ``summary.json``."""
        return h.Summary(self.figures())
