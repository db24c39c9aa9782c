"""What a report's email says, written for people: its subject, then blocks of labelled figures
that become both the HTML part and the plain-text part (the same figures in both).

The figures are the report's recorded ones (summary.json: the report read them from the views,
one definition per figure); the movers, tracking flags and names come from ``email_facts``.
Nothing here computes a figure: it chooses, labels and formats them (fr, en).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from ..config.months import shift_month
from .email_facts import EmailFacts, Mover, TrackingFlag
from .health_text import alert_evidence, flag_lines
from .labels import (
    by_count,
    colon,
    email_labels,
    labels,
    month_name,
    not_available,
    number,
    of_month,
    percent,
    signed_percent,
)

TOP_PORTALS = 5
LOWEST_COVERAGE = 10


@dataclass(frozen=True)
class Row:
    label: str
    value: str
    detail: str = ""
    flags: tuple[str, ...] = ()      # tracking warnings shown under the row


@dataclass(frozen=True)
class Block:
    title: str
    rows: tuple[Row, ...] = ()
    note: str = ""


@dataclass
class EmailContent:
    subject: str
    title: str
    scope: str
    language: str
    blocks: list[Block] = field(default_factory=list)

    def text(self, attachment_note: str) -> str:
        """The plain-text part: every block's rows as ``label: value (detail)`` lines."""
        colon = " : " if self.language == "fr" else ": "
        lines = [self.title, self.scope, ""]
        for block in self.blocks:
            lines += [block.title, "-" * len(block.title)]
            for row in block.rows:
                detail = f" — {row.detail}" if row.detail else ""
                lines.append(f"{row.label}{colon}{row.value}{detail}")
                lines += [f"    {flag}" for flag in row.flags]
            if block.note:
                lines.append(block.note)
            lines.append("")
        return "\n".join(lines + [attachment_note, ""])

    def html(self, attachment_note: str, images: list[tuple[str, str]]) -> str:
        """The HTML part, styled inline (mail clients drop style sheets); ``images`` are
        (title, content id) pairs of the inline charts. Every text is escaped."""
        e = html.escape
        parts = [f"<h2 style='margin:0 0 2px;font-size:20px'>{e(self.title)}</h2>",
                 f"<div style='color:#555;margin:0 0 16px'>{e(self.scope)}</div>"]
        for block in self.blocks:
            parts.append(f"<h3 style='font-size:16px;margin:18px 0 6px'>{e(block.title)}</h3>")
            if block.rows:
                parts.append("<table role='presentation' style='border-collapse:collapse'>")
                for row in block.rows:
                    flags = "".join(f"<div style='color:#a15c00'>{e(flag)}</div>" for flag in row.flags)
                    parts.append(
                        f"<tr><td style='{_CELL}'>{e(row.label)}</td>"
                        f"<td style='{_CELL};text-align:right;font-weight:bold;white-space:nowrap'>{e(row.value)}</td>"
                        f"<td style='{_CELL};color:#555'>{e(row.detail)}{flags}</td></tr>")
                parts.append("</table>")
            if block.note:
                parts.append(f"<p style='color:#555;font-size:13px;margin:6px 0'>{e(block.note)}</p>")
        for title, cid in images:
            parts.append(f"<div style='margin:14px 0'><img src='cid:{e(cid)}' alt='{e(title)}' width='640' "
                         "style='max-width:100%;height:auto'></div>")
        parts.append(f"<p style='margin-top:18px'>{e(attachment_note)}</p>")
        return ("<!DOCTYPE html><html><head><meta charset='utf-8'></head>"
                "<body style='font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#222;max-width:680px'>"
                + "".join(parts) + "</body></html>")


_CELL = "padding:4px 10px;border-bottom:1px solid #e3e3e3;vertical-align:top"


def compose(kind: str, figures: dict[str, Any], facts: EmailFacts, language: str, workspace_name: str,
            point_of_sale: str | None = None) -> EmailContent:
    """The email of report ``kind`` for ``figures`` (its recorded summary)."""
    t = labels(language)
    month = str(figures.get("month") or "")
    scope_name = facts.pos_name(point_of_sale) if point_of_sale else workspace_name
    title_key = {"monthly": "monthly_title", "health": "health_title", "distribution": "distribution_title"}
    title = f"{t[title_key[kind]]} — {month_name(month, language)}" if kind in title_key else f"{kind} {month}"
    scope = scope_name if not point_of_sale else f"{scope_name} · {workspace_name}"
    build = {"monthly": _monthly, "health": _health, "distribution": _distribution}.get(kind)
    content = EmailContent(_subject(kind, figures, facts, language, scope_name), title, scope, language)
    if build is not None:
        content.blocks = build(figures, facts, language, point_of_sale)
    return content


# ---------------------------------------------------------------------------------------- subject

def _subject(kind: str, figures: dict[str, Any], facts: EmailFacts, language: str, scope: str) -> str:
    e, lang = email_labels(language), language
    when = of_month(str(figures.get("month") or ""), language)
    if kind == "monthly":
        change = figures.get("change_previous_month")
        return e["subject_monthly"].format(of_month=when, scope=scope, leads=number(figures.get("leads"), lang),
                                           change=f" ({signed_percent(change, lang)})" if change is not None else "")
    if kind == "health":
        return e["subject_health"].format(of_month=when, scope=scope, coverage=percent(figures.get("coverage"), lang),
                                          alerts=_count_words(e["alerts_count"], len(figures.get("alerts") or [])))
    if kind == "distribution":
        shares = figures.get("portal_share") or {}
        if not shares:
            return e["subject_distribution_empty"].format(of_month=when, scope=scope)
        portal, share = max(shares.items(), key=lambda item: item[1])
        return e["subject_distribution"].format(of_month=when, scope=scope, share=percent(share, lang),
                                                portal=facts.portal_name(portal)
                                                or labels(language)["unknown_portal"])
    return e["subject_other"].format(kind=kind, of_month=when, scope=scope)


def _count_words(forms: tuple[str, str, str], n: int) -> str:
    return forms[0] if n == 0 else forms[1] if n == 1 else forms[2].format(n=n)


# ---------------------------------------------------------------------------------------- monthly

def _monthly(figures: dict[str, Any], facts: EmailFacts, language: str, point_of_sale: str | None) -> list[Block]:
    t, e, lang = labels(language), email_labels(language), language
    month = str(figures["month"])
    lead_label = t["point_of_sale_leads"] if point_of_sale else t["network_leads"]
    change = figures.get("change_previous_month")
    previous = e["previous_month"].format(n=number(figures.get("leads_previous_month"), lang),
                                          change=_change(change, lang))
    # a point of sale's own figure carries its tracking flag: its fall may be tracking's
    own_flag = flag_lines(facts.flags.get(point_of_sale), language) if point_of_sale else ()
    rows = [Row(lead_label, number(figures.get("leads"), lang), previous, own_flag),
            Row(t["last_year"], *_last_year(figures, language))]
    if figures.get("leads_year_to_date") is not None:
        rows.append(_year_to_date(figures, language))
    if point_of_sale and figures.get("rank"):
        rows += [Row(t["rank"], t["rank_value"].format(rank=figures["rank"], of=figures.get("ranked"))),
                 Row(t["share_of_network"], percent(figures.get("share_of_network"), lang)),
                 Row(t["vs_group"], _change(figures.get("change_vs_group"), lang),
                     f"{t['group_average']}{colon(lang)}{number(figures.get('group_average'), lang)}")]
    if not point_of_sale:
        rows += [Row(t["point_of_sale_rows"], number(figures.get("point_of_sale_rows"), lang)),
                 Row(t["active_points_of_sale"], number(figures.get("active_points_of_sale"), lang))]
    rows += [Row(t["copies"], number(figures.get("copies"), lang)),
             Row(e["non_lead_copies"], number(figures.get("non_lead_copies"), lang))]
    if not point_of_sale:
        rows.append(Row(e["without_point_of_sale"], number(figures.get("without_point_of_sale"), lang)))
    if figures.get("mailbox_copies"):
        rows.append(Row(t["mailbox_copies"], number(figures.get("mailbox_copies"), lang)))
    if not point_of_sale:
        rows.append(Row(t["quarantined"], number(figures.get("quarantined"), lang)))
    note = ""
    if not point_of_sale and (figures.get("point_of_sale_rows") or 0) > (figures.get("leads") or 0):
        note = e["group_note"].format(rows=number(figures.get("point_of_sale_rows"), lang),
                                      network=number(figures.get("leads"), lang))
    blocks = [Block(e["figures"], tuple(rows), note)]
    if not point_of_sale:
        blocks += _movers(facts, language)
        blocks += _to_check(facts, language, point_of_sale)
    blocks += _portals(figures, facts, language, month)
    return blocks


def _change(value: float | None, language: str) -> str:
    return signed_percent(value, language) if value is not None else email_labels(language)["not_available"]


def _last_year(figures: dict[str, Any], language: str) -> tuple[str, str]:
    """Same month last year, only when that month has data: a month with none reads "n/d", not 0."""
    e, lang = email_labels(language), language
    count, change = figures.get("leads_same_month_last_year"), figures.get("change_last_year")
    if not count and change is None:
        return e["not_available"], e["no_data_for"].format(
            month=month_name(shift_month(str(figures["month"]), -12), language))
    return number(count, lang), _change(change, lang)


def _year_to_date(figures: dict[str, Any], language: str) -> Row:
    """The year to date, against the same months a year earlier when there is data for them."""
    t, e, lang = labels(language), email_labels(language), language
    since = str(figures.get("year_to_date_from") or "")
    label = t["year_to_date"] if since.endswith("-01") else t["year_to_date_since"].format(
        month=month_name(since, language))
    if figures.get("leads_year_to_date_last_year") is None:
        detail = e["no_data_for"].format(month=str(int(since[:4]) - 1)) if since else ""
    else:
        detail = t["same_period_last_year"].format(n=number(figures["leads_year_to_date_last_year"], lang),
                                                   change=_change(figures.get("change_year_to_date"), lang))
    return Row(label, number(figures.get("leads_year_to_date"), lang), detail)


def _mover_row(mover: Mover, facts: EmailFacts, language: str) -> Row:
    e, lang = email_labels(language), language
    delta = f"{mover.delta:+d}".replace("-", "\u2212")
    detail = e["previous_month"].format(n=number(mover.previous, lang), change=_change(mover.change, lang))
    return Row(facts.pos_name(mover.point_of_sale), f"{number(mover.leads, lang)} ({delta})", detail,
               flag_lines(facts.flags.get(mover.point_of_sale), language))


def _movers(facts: EmailFacts, language: str) -> list[Block]:
    t, e = labels(language), email_labels(language)
    if not facts.rises and not facts.falls:
        return [Block(e["movers"], note=e["no_movers"])]
    blocks = []
    for key, movers in (("falls", facts.falls), ("rises", facts.rises)):
        if movers:
            flagged = any(m.point_of_sale in facts.flags for m in movers)
            blocks.append(Block(f"{e['movers'].split(' (')[0]} — {t[key]}",
                                tuple(_mover_row(m, facts, language) for m in movers),
                                e["flag_note"] if flagged and key == "falls" else ""))
    return blocks


def _to_check(facts: EmailFacts, language: str, point_of_sale: str | None) -> list[Block]:
    e, lang = email_labels(language), language
    flags = [f for p, f in facts.flags.items() if not point_of_sale or p == point_of_sale]
    if not flags:
        return []
    flags.sort(key=lambda f: (f.coverage if f.coverage is not None else -1, f.point_of_sale))
    rows = tuple(Row(facts.pos_name(f.point_of_sale), percent(f.coverage, lang) if f.expected else not_available(lang), "",
                     flag_lines(f, language)) for f in flags)
    return [Block(e["to_check"], rows)]


def _portals(figures: dict[str, Any], facts: EmailFacts, language: str, month: str) -> list[Block]:
    t, e, lang = labels(language), email_labels(language), language
    counts = figures.get("leads_by_portal") or {}
    total = sum(counts.values())
    if not total:
        return []
    rows = tuple(Row(facts.portal_name(p) or t["unknown_portal"], number(n, lang), percent(n / total, lang))
                 for p, n in by_count(counts)[:TOP_PORTALS])
    return [Block(e["portals"], rows)]


# ---------------------------------------------------------------------------------------- health

def _health(figures: dict[str, Any], facts: EmailFacts, language: str, point_of_sale: str | None) -> list[Block]:
    t, e, lang = labels(language), email_labels(language), language
    rows = [Row(t["expected"], number(figures.get("expected"), lang)),
            Row(t["tracked"], number(figures.get("tracked"), lang)),
            Row(t["coverage"], percent(figures.get("coverage"), lang)),
            Row(t["missing_leads"], number(figures.get("missing"), lang)),
            Row(t["alerts"], number(len(figures.get("alerts") or []), lang)),
            Row(e["checks_count"], number(len(figures.get("checks") or []), lang)),
            Row(t["point_of_sale_leads"], number(figures.get("point_of_sale_leads"), lang))]
    if figures.get("mailbox_copies"):
        rows.append(Row(t["mailbox_copies"], number(figures.get("mailbox_copies"), lang)))
    blocks = [Block(e["figures"], tuple(rows), "" if figures.get("expected") else t["no_evidence"])]
    lowest = [(p, c) for p, c in (figures.get("coverage_by_point_of_sale") or {}).items()
              if c.get("expected") and c.get("missing")]
    lowest.sort(key=lambda item: (item[1]["tracked"] / item[1]["expected"], item[0]))
    if lowest:
        blocks.append(Block(e["coverage_lowest"], tuple(
            Row(facts.pos_name(p), percent(c["tracked"] / c["expected"], lang),
                f"{number(c['tracked'], lang)}/{number(c['expected'], lang)}",
                _cause_line(facts.flags.get(p), language))
            for p, c in lowest[:LOWEST_COVERAGE])))
    causes = figures.get("missing_by_cause") or {}
    if causes:
        blocks.append(Block(e["missing_by_cause"], tuple(
            Row(t["causes"].get(c, c), number(n, lang)) for c, n in by_count(causes))))
    alerts = [a for a in figures.get("alerts") or [] if isinstance(a, dict)]
    blocks.append(Block(t["alerts"], tuple(_alert_row(a, facts, language) for a in alerts),
                        "" if alerts else t["no_alerts"]))
    checks = [c for c in figures.get("checks") or [] if isinstance(c, dict)]
    if checks:
        blocks.append(Block(e["checks_count"], tuple(
            Row(t["check_kinds"].get(c.get("kind"), str(c.get("kind"))),
                facts.pos_name(c.get("point_of_sale")) if c.get("point_of_sale") else str(c.get("address") or ""))
            for c in checks)))
    return blocks


def _cause_line(flag: TrackingFlag | None, language: str) -> tuple[str, ...]:
    if flag is None or not flag.cause:
        return ()
    t, e = labels(language), email_labels(language)
    return (e["flag_cause"].format(cause=t["causes"].get(flag.cause, flag.cause)),)


def _alert_row(alert: dict[str, Any], facts: EmailFacts, language: str) -> Row:
    """An alert of the summary, its evidence written from the alert's facts in the email's
    language; example subjects (text from emails, personal details removed) shown as text."""
    t = labels(language)
    kind = str(alert.get("kind", ""))
    where = " × ".join(x for x in (facts.pos_name(alert.get("point_of_sale")) if alert.get("point_of_sale") else "",
                                   facts.portal_name(alert.get("portal")) or "") if x)
    match = next((a for a in facts.alerts if a.kind == kind and a.point_of_sale == alert.get("point_of_sale")
                  and a.portal == alert.get("portal")), None)
    if match is not None:
        evidence = alert_evidence(match, language)
    else:
        evidence = str(alert.get("detail", "")) if language == "en" else ""
    examples = tuple(f"« {x} »" if language == "fr" else f"“{x}”" for x in alert.get("examples") or [])
    return Row(t["alert_kinds"].get(kind, kind), where, evidence, examples)


# ---------------------------------------------------------------------------------------- distribution

def _distribution(figures: dict[str, Any], facts: EmailFacts, language: str,
                  point_of_sale: str | None) -> list[Block]:
    t, e, lang = labels(language), email_labels(language), language
    lead_label = t["point_of_sale_leads"] if point_of_sale else t["network_leads"]
    rows = [Row(lead_label, number(figures.get("leads"), lang))]
    if not point_of_sale:
        rows.append(Row(t["point_of_sale_rows"], number(figures.get("point_of_sale_leads"), lang)))
    shares = figures.get("portal_share") or {}
    if shares:
        portal, share = max(shares.items(), key=lambda item: item[1])
        rows += [Row(t["top_portal"], facts.portal_name(portal) or t["unknown_portal"], percent(share, lang)),
                 Row(t["portals_for_80"], number(figures.get("portals_for_80_network"), lang))]
    blocks = [Block(e["figures"], tuple(rows), "" if shares else t["no_data"])]
    if shares:
        top = sorted(shares.items(), key=lambda item: -item[1])[:TOP_PORTALS]
        counts = figures.get("leads_by_portal") or {}
        blocks.append(Block(e["top_portals"], tuple(
            Row(facts.portal_name(p) or t["unknown_portal"], percent(s, lang), number(counts.get(p), lang))
            for p, s in top)))
    channels = figures.get("channel_mix") or {}
    total = sum(channels.values())
    if total:
        blocks.append(Block(e["channel_mix"], tuple(
            Row(t["channels"].get(c, c), number(n, lang), percent(n / total, lang))
            for c, n in by_count(channels))))
    blocks += _to_check(facts, language, point_of_sale)
    return blocks
