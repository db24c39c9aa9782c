"""``emailtrack status``: what is stored, in a few lines a person can read."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pandas as pd

from ..analytics import checks as config_checks
from ..analytics import deployment as deploy
from ..attribution.refresh import refresh_attribution
from ..config.workspace import Workspace
from ..errors import UsageError
from ..store.db import connect


@dataclass
class Status:
    workspace: str
    database: str
    files: dict[str, int] = field(default_factory=dict)      # kind -> files ingested
    messages: int = 0
    log_rows: int = 0
    leads_by_month: list[tuple[str, int, int]] = field(default_factory=list)  # month, network, per pos rows
    categories: dict[str, int] = field(default_factory=dict)
    quarantined: dict[str, int] = field(default_factory=dict)
    without_point_of_sale: int = 0
    without_portal: int = 0
    flags: dict[str, int] = field(default_factory=dict)
    checks: list[config_checks.Check] = field(default_factory=list)   # configuration problems (checks.py)
    checked_as_of: dt.date | None = None

    def lines(self) -> list[str]:
        out = [f"workspace  {self.workspace}", f"database   {self.database}"]
        files = ", ".join(f"{n} {k}" for k, n in sorted(self.files.items())) or "none"
        out.append(f"sources    {sum(self.files.values())} files ingested ({files})")
        out.append(f"messages   {self.messages} stored copies"
                   + (f", {self.log_rows} distribution log rows" if self.log_rows else ""))
        cats = ", ".join(f"{n} {c}" for c, n in sorted(self.categories.items(), key=lambda x: -x[1]))
        if cats:
            out.append(f"categories {cats}")
        out.append("leads per month (network leads = distinct leads / point-of-sale leads = leads per point of sale, summed):")
        for month, network, rows in self.leads_by_month:
            out.append(f"  {month}  {network:>7}  {rows:>7}")
        if not self.leads_by_month:
            out.append("  none yet")
        total_q = sum(self.quarantined.values())
        reasons = ", ".join(f"{n} {r}" for r, n in sorted(self.quarantined.items(), key=lambda x: -x[1]))
        out.append(f"quarantined {total_q}" + (f" ({reasons})" if reasons else ""))
        out.append(f"unattributed {self.without_point_of_sale} copies without point of sale, "
                   f"{self.without_portal} without portal")
        if self.flags:
            out.append("flags      " + ", ".join(f"{n} {f}" for f, n in sorted(self.flags.items())))
        out.extend(config_checks.lines(self.checks, self.checked_as_of))
        return out


def workspace_status(workspace: Workspace) -> Status:
    con = connect(workspace.database)
    try:
        refresh_attribution(con, workspace)
        status = Status(workspace.name, str(workspace.database))
        status.files = dict(con.execute("SELECT kind, count(*) FROM ingested_files GROUP BY kind").fetchall())
        status.messages = _one(con, "SELECT count(*) FROM stored_messages")[0]
        status.log_rows = _one(con, "SELECT count(*) FROM distribution_log")[0]
        status.leads_by_month = con.execute(
            "SELECT month, network_leads, point_of_sale_leads FROM lead_figures WHERE point_of_sale_leads > 0 "
            "ORDER BY month").fetchall()
        status.categories = dict(con.execute("SELECT category, count(*) FROM attribution GROUP BY ALL").fetchall())
        status.quarantined = dict(con.execute("SELECT reason, count(*) FROM quarantine GROUP BY ALL").fetchall())
        status.without_point_of_sale, status.without_portal = _one(
            con, "SELECT count(*) FILTER (WHERE point_of_sale IS NULL AND channel <> 'distribution'), "
            "count(*) FILTER (WHERE portal IS NULL) FROM messages")
        status.flags = dict(con.execute(
            "SELECT flag, count(*) FROM (SELECT unnest(flags) AS flag FROM attribution) GROUP BY ALL").fetchall())
        def sql(query: str, params: list[Any]) -> pd.DataFrame:
            frame: pd.DataFrame = con.execute(query, params).df()
            return frame
        status.checks = config_checks.find_checks(sql, workspace)
        status.checked_as_of = config_checks.as_of(sql)
        return status
    finally:
        con.close()


def _one(con: duckdb.DuckDBPyConnection, query: str) -> tuple[Any, ...]:
    """The one row of an aggregate query."""
    row = con.execute(query).fetchone()
    assert row is not None, "an aggregate without GROUP BY returns one row"
    return row


def deployment_status(workspace: Workspace, point_of_sale: str | None = None,
                      day: dt.date | None = None) -> deploy.DeploymentStatus:
    """``emailtrack status --deployment``: each point of sale's set-up modes, failures, alerts and
    checks (analytics/deployment.py), as of ``day`` (default: the last copy that reached tracking)."""
    if point_of_sale is not None and workspace.point_of_sale(point_of_sale) is None:
        known = ", ".join(p.id for p in workspace.points_of_sale) or "none"
        raise UsageError(f"unknown point of sale {point_of_sale!r} (known: {known})")
    con = connect(workspace.database)
    try:
        refresh_attribution(con, workspace)

        def sql(query: str, params: list[Any]) -> pd.DataFrame:
            frame: pd.DataFrame = con.execute(query, params).df()
            return frame
        return deploy.deployment(sql, workspace, day, point_of_sale)
    finally:
        con.close()
