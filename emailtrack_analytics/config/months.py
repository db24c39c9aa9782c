"""Months as the contract writes them (``YYYY-MM``, or ``last``), cut in the workspace zone."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from ..errors import UsageError

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def last_complete_month(timezone: str, now: dt.datetime | None = None) -> str:
    """The month before the current one, in ``timezone``."""
    now = now or dt.datetime.now(dt.timezone.utc)
    local = now.astimezone(ZoneInfo(timezone))
    first = local.date().replace(day=1)
    previous = first - dt.timedelta(days=1)
    return previous.strftime("%Y-%m")


def resolve_month(value: str | None, timezone: str) -> str | None:
    """``YYYY-MM`` or ``last`` -> ``YYYY-MM``; None stays None; anything else is a usage error."""
    if value is None:
        return None
    if value == "last":
        return last_complete_month(timezone)
    if not _MONTH.match(value):
        raise UsageError(f"--month must be YYYY-MM or 'last', not {value!r}")
    return value


def shift_month(month: str, months: int) -> str:
    year, number = int(month[:4]), int(month[5:7])
    index = year * 12 + (number - 1) + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    """First day of the month and first day of the next one."""
    start = dt.date(int(month[:4]), int(month[5:7]), 1)
    following = shift_month(month, 1)
    return start, dt.date(int(following[:4]), int(following[5:7]), 1)
