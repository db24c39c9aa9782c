"""The Python API for notebooks and scripts: a workspace's data as pandas DataFrames.

    from emailtrack_analytics.api import Analytics
    with Analytics() as data:                      # $EMAILTRACK_WORKSPACE or the current folder
        leads = data.leads(month="2026-03")        # one row per lead per point of sale
        data.sql("SELECT portal, count(*) FROM leads GROUP BY ALL")

Views available to SQL: ``messages``, ``leads``, ``lead_copies``, ``quarantine``,
``monthly_leads``, ``monthly_traffic``, ``points_of_sale``, ``portals``, and the figures
(``network_leads``, ``point_of_sale_leads``, ``tracking_copies``, ``mailbox_copies``,
``lead_figures``: analytics/views/045_figures.sql defines each once; docs/api.md).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, TypedDict

import duckdb
import pandas as pd

from ..attribution.refresh import is_stale, refresh_attribution
from ..config.months import shift_month
from ..config.workspace import Workspace, open_workspace
from ..store.db import connect, needs_writer

# a query runner: ``Analytics.sql``, or a connection's ``execute(query, params).df()``
SqlRunner = Callable[[str, list[Any]], pd.DataFrame]


def frame_rows(frame: pd.DataFrame) -> Iterator[Any]:
    """A query's rows as named tuples (``frame.itertuples()``). Typed ``Any``: a row's fields are
    the columns the SQL selects, which no static type describes (pandas-stubs types every field
    as any scalar at all)."""
    return frame.itertuples()


class Figures(TypedDict):
    """The headline figures of a month (``Analytics.figures``)."""

    month: str
    point_of_sale: str | None
    network_leads: int
    point_of_sale_leads: int
    tracking_copies: int
    tracking_lead_copies: int
    mailbox_copies: int
    mailbox_lead_copies: int
    leads_by_portal: dict[str, int]
    leads_by_point_of_sale: dict[str, int]
    leads_by_group: dict[str, int]
    leads_by_channel: dict[str, int]


class Analytics:
    """Read access to one workspace.

    Reading is read-only: the database file is opened read-only for each query and closed after
    it (or once for a ``with data.session():`` block), never held between cells, so an analyst's
    open notebook never stops the scheduled ingest, which needs the file to itself while it
    writes. A query that meets an ingest writing waits for it (``EMAILTRACK_LOCK_WAIT`` seconds,
    default 600).

    Refreshing is one explicit step (``refresh()``). When it opens, ``Analytics`` checks read-only
    whether the stored results lag behind (``emailtrack.toml`` edited, a new version, copies not
    yet attributed) and refreshes only then (``refresh=None``, the default); ``refresh=True``
    always does, ``refresh=False`` never (results may then be stale). Every ``emailtrack``
    command that stores or reports refreshes before it ends, so a notebook after one writes nothing.
    """

    def __init__(self, workspace: Workspace | str | None = None, *, refresh: bool | None = None):
        self.workspace = workspace if isinstance(workspace, Workspace) else open_workspace(workspace or None)
        self._session: duckdb.DuckDBPyConnection | None = None
        if refresh is None:
            refresh = self.stale()
        if refresh:
            self.refresh()

    def stale(self) -> bool:
        """Whether the stored results lag behind the copies or the configuration (asked read-only)."""
        if not self.workspace.database.exists():
            return True
        con = connect(self.workspace.database, read_only=True)
        try:
            return needs_writer(con) or is_stale(con, self.workspace)
        finally:
            con.close()

    def refresh(self) -> None:
        """Bring the stored results up to date (a write connection, for as long as it takes)."""
        con = connect(self.workspace.database)
        try:
            refresh_attribution(con, self.workspace)
        finally:
            con.close()

    @contextlib.contextmanager
    def session(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One read-only connection for a block of queries (a report's figures come from one
        snapshot, and opening the file once is faster); released when the block ends."""
        if self._session is not None:
            yield self._session
            return
        self._session = session = connect(self.workspace.database, read_only=True)
        try:
            yield session
        finally:
            session.close()
            self._session = None

    def sql(self, query: str, params: list[Any] | None = None) -> pd.DataFrame:
        """Run SQL on the workspace's views and tables; returns a DataFrame."""
        with self.session() as con:
            frame: pd.DataFrame = con.execute(query, params or []).df()
            return frame

    def _table(self, view: str, month: str | None, point_of_sale: str | None, order: str) -> pd.DataFrame:
        conditions, params = [], []
        if month:
            conditions.append("month = ?")
            params.append(month)
        if point_of_sale:
            conditions.append("point_of_sale = ?")
            params.append(point_of_sale)
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        return self.sql(f"SELECT * FROM {view} {where} ORDER BY {order}", params)

    def leads(self, month: str | None = None, point_of_sale: str | None = None) -> pd.DataFrame:
        """One row per lead per point of sale it reached."""
        return self._table("leads", month, point_of_sale, "received_at, lead_key")

    def messages(self, month: str | None = None, point_of_sale: str | None = None, *,
                 personal_data: bool = False) -> pd.DataFrame:
        """One row per stored message copy, attributed. Prospects' addresses and names in
        ``sender`` and ``subject`` are pseudonyms unless ``personal_data`` is true."""
        view = "messages" if personal_data else "messages_pseudonymous"
        return self._table(view, month, point_of_sale, "received_at, message_key")

    def contacts(self, month: str | None = None, point_of_sale: str | None = None, *,
                 personal_data: bool = False) -> pd.DataFrame:
        """The prospect's details of each lead copy (name, email, phone, listing reference),
        as pseudonyms (the same prospect, the same pseudonym) unless ``personal_data`` is true."""
        view = "lead_contacts" if personal_data else "lead_contacts_pseudonymous"
        return self._table(view, month, point_of_sale, "month, lead_key, message_key")

    def figures(self, month: str, point_of_sale: str | None = None) -> Figures:
        """The headline figures of ``month``, for the network or one point of sale, each read from
        the view that defines it (analytics/views/045_figures.sql):

        - ``network_leads``: distinct leads (for one point of sale: its leads);
        - ``point_of_sale_leads``: one per lead per point of sale it reached, summed;
        - ``tracking_copies`` / ``tracking_lead_copies``: copies that reached tracking (all / leads);
        - ``mailbox_copies`` / ``mailbox_lead_copies``: copies from mailbox exports (all / leads);
        - ``leads_by_portal``: network leads per portal (for one point of sale: its leads);
        - ``leads_by_point_of_sale``, ``leads_by_group``, ``leads_by_channel``: point-of-sale leads.
        Portal '' is an unknown portal; group '' no group.
        """
        pos = [point_of_sale] if point_of_sale else []
        where = "month = ?" + (" AND point_of_sale = ?" if point_of_sale else "")
        with self.session():
            rows = self.sql(f"SELECT point_of_sale, coalesce(\"group\", '') AS \"group\", portal, channel, "
                            f"point_of_sale_leads AS n FROM point_of_sale_leads WHERE {where}", [month] + pos)
            if point_of_sale:
                network = int(rows["n"].sum())
                by_portal = rows.groupby("portal")["n"].sum()
                tracking = self.sql("SELECT category, tracking_copies AS n FROM tracking_copies_by_point_of_sale "
                                    f"WHERE {where}", [month] + pos)
            else:
                network = int(self.sql("SELECT coalesce(sum(network_leads), 0) AS n FROM network_leads "
                                       "WHERE month = ?", [month])["n"].iloc[0])
                by_portal = self.sql("SELECT portal, network_leads AS n FROM network_leads_by_portal "
                                     "WHERE month = ?", [month]).set_index("portal")["n"]
                tracking = self.sql("SELECT category, tracking_copies AS n FROM tracking_copies WHERE month = ?",
                                    [month])
            mailbox = self.sql(f"SELECT category, mailbox_copies AS n FROM mailbox_copies WHERE {where}", [month] + pos)

        def counts(series: pd.Series[int]) -> dict[str, int]:
            return {str(k): int(v) for k, v in series.sort_values(ascending=False, kind="stable").items() if v}

        return {
            "month": month,
            "point_of_sale": point_of_sale,
            "network_leads": network,
            "point_of_sale_leads": int(rows["n"].sum()),
            "tracking_copies": int(tracking["n"].sum()),
            "tracking_lead_copies": int(tracking.loc[tracking["category"] == "lead", "n"].sum()),
            "mailbox_copies": int(mailbox["n"].sum()),
            "mailbox_lead_copies": int(mailbox.loc[mailbox["category"] == "lead", "n"].sum()),
            "leads_by_portal": counts(by_portal),
            "leads_by_point_of_sale": counts(rows.dropna(subset=["point_of_sale"]).groupby("point_of_sale")["n"].sum()),
            "leads_by_group": counts(rows.groupby("group")["n"].sum()),
            "leads_by_channel": counts(rows.groupby("channel")["n"].sum()),
        }

    def history(self, first: str, last: str, point_of_sale: str | None = None) -> pd.DataFrame:
        """Month by month from ``first`` to ``last``: ``leads`` (network leads, or the point of
        sale's leads) and ``has_data``, whether the workspace holds any copy of that month (view
        ``data_months``). A month without data is not a month with no lead: its ``leads`` is
        missing (NA), never 0, so a comparison with it reads "n/d"."""
        months = [first]
        while months[-1] < last:
            months.append(shift_month(months[-1], 1))
        with self.session():
            known = self.sql("SELECT d.month, coalesce(n.network_leads, 0) AS n FROM data_months AS d "
                             "LEFT JOIN (SELECT month, network_leads FROM network_leads WHERE month BETWEEN ? AND ?) "
                             "AS n USING (month) WHERE d.month BETWEEN ? AND ?", [first, last, first, last])
            if point_of_sale:
                own = self.sql("SELECT month, sum(point_of_sale_leads)::BIGINT AS n FROM point_of_sale_leads "
                               "WHERE month BETWEEN ? AND ? AND point_of_sale = ? GROUP BY month",
                               [first, last, point_of_sale])
        counts = dict(zip(own["month"], own["n"], strict=True)) if point_of_sale else \
            dict(zip(known["month"], known["n"], strict=True))
        with_data = set(known["month"])
        frame = pd.DataFrame({"month": months, "has_data": [m in with_data for m in months]})
        frame["leads"] = pd.array([int(counts.get(m, 0)) if m in with_data else None for m in months],
                                  dtype="Int64")
        return frame

    def lead_figures(self) -> pd.DataFrame:
        """Every month's headline figures side by side (view ``lead_figures``)."""
        return self.sql("SELECT * FROM lead_figures ORDER BY month")

    def monthly_leads(self) -> pd.DataFrame:
        """Point-of-sale leads (``leads``) and their copies per month, point of sale and portal."""
        return self.sql("SELECT * FROM monthly_leads ORDER BY month, point_of_sale, portal")

    def months(self) -> list[str]:
        """Months that have at least one lead, oldest first."""
        return list(self.sql("SELECT DISTINCT month FROM leads WHERE month IS NOT NULL ORDER BY month")["month"])

    def close(self) -> None:
        """Nothing stays open between queries; kept so that ``with Analytics() as data`` reads well."""

    def __enter__(self) -> "Analytics":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
