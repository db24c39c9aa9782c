"""One report per point of sale, each emailed to that point of sale's own recipients
(``report_to`` on its ``[[points_of_sale]]`` table): each receives its own figures only."""

from __future__ import annotations

import os
from collections.abc import Sequence

from ..attribution.refresh import refresh_attribution
from ..config.workspace import Workspace
from ..errors import UsageError
from ..store.db import connect
from .runner import ReportResult, has_data, run_report


def run_per_point_of_sale(workspace: Workspace, kind: str, month: str, *, send: bool = False,
                          out: str | os.PathLike[str] | None = None, error_to: Sequence[str] = (),
                          language: str | None = None, timeout: int = 600,
                          resend: bool = False, allow_empty: bool = False) -> list[tuple[str, ReportResult | None]]:
    """Run report ``kind`` for every point of sale; with ``send``, only for those with ``report_to``,
    each emailed to its own recipients. Returns (point of sale id, result) in configuration order;
    the result is None for a point of sale without data that month (skipped, unless
    ``allow_empty``): one new or closed agency must not stop the others' reports."""
    points = [p for p in workspace.points_of_sale if p.report_to or not send]
    if not points:
        raise UsageError("no point of sale has report_to in emailtrack.toml (e.g. report_to = "
                         "[\"direction@agence.fr\"] under its [[points_of_sale]]): nobody to send to")
    if send:
        from .mailer import smtp_settings
        smtp_settings()  # refuse before the first report if mail cannot be sent
    con = connect(workspace.database)
    try:  # the data each point of sale is checked against must be current
        refresh_attribution(con, workspace)
    finally:
        con.close()
    results: list[tuple[str, ReportResult | None]] = []
    for point in points:
        if not allow_empty and not has_data(workspace, kind, month, point.id):
            results.append((point.id, None))
            continue
        results.append((point.id, run_report(workspace, kind, month, point_of_sale=point.id, out=out,
                                             send_to=list(point.report_to) if send else [],
                                             error_to=error_to, language=language, timeout=timeout,
                                             resend=resend, allow_empty=allow_empty)))
    return results
