"""Tracking health written for people, in the page's or the email's language: the flag beside a
point of sale whose figure tracking got wrong (low coverage and its likely cause, a silence), and
an alert's evidence. Every page and email that shows one writes it with these functions."""

from __future__ import annotations

from ..analytics import health
from .email_facts import TrackingFlag
from .labels import date, email_labels, labels, not_available, number, percent


def flag_lines(flag: TrackingFlag | None, language: str) -> tuple[str, ...]:
    """What is wrong with a point of sale's tracking this month, one line per fact; none for a
    point of sale whose tracking is sound."""
    if flag is None:
        return ()
    t, e, lang = labels(language), email_labels(language), language
    lines = []
    if flag.expected and flag.missing:
        line = e["flag"].format(missing=number(flag.missing, lang), expected=number(flag.expected, lang),
                                coverage=percent(flag.coverage, lang))
        if flag.cause:
            line += " — " + e["flag_cause"].format(cause=t["causes"].get(flag.cause, flag.cause))
        lines.append(line)
    if flag.silent_since is not None:
        lines.append(e["flag_silent"].format(since=date(flag.silent_since, lang)))
    lines += [e["flag_silent_portal"].format(portal=portal, since=date(since, lang)) for portal, since in flag.silent_portals]
    return tuple(lines)


def flag_short(flag: TrackingFlag | None, language: str) -> str:
    """The flag in a few words, for a table cell or a chart's hover: ``⚠ couverture 65,0 %``."""
    if flag is None:
        return ""
    e, lang = email_labels(language), language
    parts = []
    if flag.expected and flag.missing:
        parts.append(e["flag_short"].format(coverage=percent(flag.coverage, lang)))
    if flag.silent_since is not None:
        parts.append(e["flag_silent_short"].format(since=date(flag.silent_since, lang)))
    parts += [e["flag_silent_portal_short"].format(portal=portal, since=date(since, lang))
              for portal, since in flag.silent_portals]
    return "⚠ " + " · ".join(parts) if parts else ""


def alert_evidence(alert: health.Alert, language: str) -> str:
    """An alert's evidence from its facts (the ``detail`` it carries is English, for logs)."""
    e, lang = email_labels(language), language
    template = e.get(f"alert_{alert.kind}")
    if template is None:
        return alert.detail if language == "en" else ""
    return str(template).format(since=date(alert.since, lang) if alert.since else not_available(lang),
                                observed=number(alert.observed, lang), expected=number(alert.expected, lang))
