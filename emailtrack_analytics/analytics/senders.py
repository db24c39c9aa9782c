"""``emailtrack senders``: who sends the copies the portal rules do not recognise, by volume, with a
suggested portal and the TOML that teaches it to the workspace.

A portal that changes its sending platform, or a new portal, shows up here with its volume, so
that an analyst fixes a format drift in a minute instead of reading a month of zeros.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..attribution.engine import RECOGNISED, Attributor
from ..attribution.refresh import BODY_COLUMN, READ_COLUMNS
from ..config.workspace import Workspace
from .api import Analytics
from .health import without_personal_data

# People's mailbox providers: a copy from one of these is a person writing, never a portal's
# platform; their addresses and names are personal data, and "@gmail.com" is no portal rule.
WEBMAIL = {"gmail.com", "googlemail.com", "hotmail.com", "hotmail.fr", "outlook.com", "outlook.fr",
           "live.com", "live.fr", "msn.com", "yahoo.com", "yahoo.fr", "ymail.com", "icloud.com", "me.com",
           "mac.com", "aol.com", "orange.fr", "wanadoo.fr", "free.fr", "sfr.fr", "neuf.fr", "laposte.net",
           "bbox.fr", "gmx.fr", "gmx.de", "gmx.net", "web.de", "protonmail.com", "proton.me", "libero.it",
           "yandex.ru", "mail.ru"}
SAMPLE_SUBJECTS = 2
SCORED_COPIES = 20   # copies of a domain whose signals are weighed for the suggestion


@dataclass
class SenderGroup:
    """The unrecognised copies of one sending domain."""
    domain: str
    copies: int
    reasons: dict[str, int]
    addresses: list[str]
    display_names: list[str]
    points_of_sale: int
    first_seen: str
    last_seen: str
    subjects: list[str] = field(default_factory=list)
    suggested_portal: str | None = None
    signals: list[str] = field(default_factory=list)
    toml: str = ""
    personal: bool = False      # a webmail domain: people, not a portal
    internal: bool = False      # a domain of the network's own mailboxes: its staff writing

    def as_row(self) -> dict[str, str | int]:
        return {"domain": self.domain, "copies": self.copies,
                "reasons": ", ".join(f"{n} {r}" for r, n in sorted(self.reasons.items(), key=lambda x: -x[1])),
                "addresses": ", ".join(self.addresses), "display_names": ", ".join(self.display_names),
                "points_of_sale": self.points_of_sale, "first_seen": self.first_seen, "last_seen": self.last_seen,
                "sample_subjects": " | ".join(self.subjects), "suggested_portal": self.suggested_portal or "",
                "signals": ", ".join(self.signals), "toml": self.toml}


def unrecognised_senders(workspace: Workspace, month: str | None = None, *, personal_data: bool = False,
                         limit: int = 50) -> list[SenderGroup]:
    """The sending domains of the ``unrecognised_copies`` view, most copies first."""
    data = Analytics(workspace)
    where, params = ("WHERE month = ?", [month]) if month else ("", [])
    address = "sender" if personal_data else "pseudonymous_address(sender)"
    groups = data.sql(f"""
        -- lists in a fixed order: the same workspace prints the same lines on every run
        SELECT coalesce(domain, '') AS domain, count(*) AS copies,
               list_sort(list(DISTINCT {address}) FILTER (WHERE sender IS NOT NULL))[1:5] AS addresses,
               list_sort(list(DISTINCT sender_name) FILTER (WHERE sender_name IS NOT NULL))[1:5] AS display_names,
               -- names that are no person's: those several addresses send under, or a role
               -- address's; of "<person> via <portal>", the portal part only
               list_sort(list(DISTINCT name) FILTER (WHERE public_name))[1:5] AS public_names,
               histogram(reason) AS reasons, count(DISTINCT point_of_sale) AS points_of_sale,
               min(received_at)::DATE::VARCHAR AS first_seen, max(received_at)::DATE::VARCHAR AS last_seen
        FROM (SELECT *,
                     CASE WHEN contains(lower(sender_name), ' via ')
                          THEN '… via ' || split_part(sender_name, ' via ', -1) ELSE sender_name END AS name,
                     contains(lower(sender_name), ' via ') OR is_role_address(lower(coalesce(sender, '')))
                         OR count(DISTINCT sender) OVER (PARTITION BY domain, sender_name) > 1 AS public_name
              FROM unrecognised_copies {where})
        GROUP BY ALL ORDER BY copies DESC, domain LIMIT ?""", params + [limit])
    attributor = Attributor(workspace)
    own = {address.rsplit("@", 1)[-1] for pos in workspace.points_of_sale
           for address in pos.mailboxes + pos.tracked_addresses}
    found = []
    for row in groups.to_dict("records"):
        domain = row["domain"]
        personal = domain in WEBMAIL
        names = _list(row["display_names"]) if personal_data else _list(row["public_names"])
        hidden = len(_list(row["display_names"])) - len(names)
        if hidden > 0 and not personal_data:  # a person's name: a prospect or a colleague writing
            names.append(f"({hidden} personal names hidden)")
        group = SenderGroup(domain=domain or "(no sender)", copies=int(row["copies"]),
                            reasons={k: int(v) for k, v in dict(row["reasons"]).items()},
                            addresses=_list(row["addresses"]), display_names=names,
                            points_of_sale=int(row["points_of_sale"]), first_seen=row["first_seen"],
                            last_seen=row["last_seen"], personal=personal, internal=domain in own)
        # people's subjects name them in ways no rule removes: shown only on request
        group.subjects = _subjects(data, domain, month, personal_data) if personal_data or not personal else []
        if domain and not personal and not group.internal:
            _suggest(group, data, attributor, domain, month)
        found.append(group)
    found.sort(key=lambda g: (g.internal or g.personal, -g.copies))  # what a rule can fix first
    return found


def _list(value: Iterable[str | None] | None) -> list[str]:
    return [] if value is None else [v for v in list(value) if v is not None]


def _subjects(data: Analytics, domain: str, month: str | None, personal_data: bool = False) -> list[str]:
    """The most frequent subjects of the domain's copies, the prospects' details taken out."""
    rows = data.sql(
        "SELECT p.subject FROM unrecognised_copies AS u JOIN messages_pseudonymous AS p USING (message_key) "
        "WHERE coalesce(u.domain, '') = ? AND u.subject IS NOT NULL" + (" AND u.month = ?" if month else ""),
        [domain] + ([month] if month else []))
    counts = Counter(" ".join(without_personal_data(str(s)).split()) for s in rows["subject"])
    counts.pop("", None)
    # a template repeats once the prospect's details are out; a subject seen once may name a
    # person in a way no rule removes ("Visite appartement - Hugo Petit")
    shown = [(s, n) for s, n in counts.items() if n > 1 or personal_data]
    return [subject for subject, _ in sorted(shown, key=lambda x: (-x[1], x[0]))[:SAMPLE_SUBJECTS]]


def _suggest(group: SenderGroup, data: Analytics, attributor: Attributor, domain: str, month: str | None) -> None:
    """The portal the domain's copies point to most often by their other signals, and the TOML
    that makes the domain one of its senders (or a new portal when none does)."""
    columns = ", ".join(f"m.{c}" for c in READ_COLUMNS)
    with data.session() as con:  # rows as Python values (a DataFrame turns None into NaN)
        cursor = con.execute(
            f"SELECT {columns}, {BODY_COLUMN.format('m.')} FROM unrecognised_copies AS u "
            "JOIN copy_facts AS m USING (message_key) WHERE u.domain = ?"
            + (" AND u.month = ?" if month else "") + " ORDER BY u.received_at DESC LIMIT ?",
            [domain] + ([month] if month else []) + [SCORED_COPIES])
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
    votes: Counter[str] = Counter()
    signals: dict[str, Counter[str]] = {}
    for row in rows:
        recognition = attributor.recognise(row, complete=True)
        if recognition.compiled is not None and recognition.portal is not None:
            votes[recognition.portal] += 1
            signals.setdefault(recognition.portal, Counter()).update(recognition.signals)
    if votes:
        portal, _ = votes.most_common(1)[0]
        group.suggested_portal = portal
        group.signals = [s for s, _ in signals[portal].most_common()]
        group.toml = f'[[portals]]\nid = "{portal}"\nextra_senders = ["@{domain}"]'
        if any(p.portal.id == portal and not p.portal.builtin for p in attributor.portals):
            group.toml += "   # add to your existing [[portals]] entry for this id"
    else:
        slug = re.sub(r"[^a-z0-9]+", "-", domain.rsplit(".", 1)[0].split(".")[-1]).strip("-") or "new-portal"
        name = domain  # a display name may be a person's
        group.toml = (f'[[portals]]\nid = "{slug}"\nname = "{_toml_text(name)}"\nkind = "portal"   '
                      f'# or "website", "other"\nsenders = ["@{domain}"]')


def _toml_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")[:80]


def lines(groups: list[SenderGroup], *, threshold: int = RECOGNISED) -> list[str]:
    """The groups as text a person reads: one block per domain, the TOML indented."""
    if not groups:
        return ["every copy at a tracked address was recognised: nothing to add"]
    out = []
    for g in groups:
        reasons = ", ".join(f"{n} {r}" for r, n in sorted(g.reasons.items(), key=lambda x: -x[1]))
        out.append(f"{g.domain}  {g.copies} copies ({reasons}), {g.points_of_sale} points of sale, "
                   f"{g.first_seen} .. {g.last_seen}")
        if g.addresses:
            out.append(f"  from      {', '.join(g.addresses)}")
        if g.display_names:
            out.append(f"  names     {', '.join(g.display_names)}")
        for subject in g.subjects:
            out.append(f"  subject   {subject}")
        if g.personal:
            out.append("  a webmail domain: people writing, not a portal (no rule suggested)")
        elif g.internal:
            out.append("  the network's own domain: its staff writing, not a portal (no rule suggested)")
        elif g.suggested_portal:
            out.append(f"  looks like {g.suggested_portal} ({', '.join(g.signals)}); add to emailtrack.toml:")
        else:
            out.append("  no portal signal; if it is a lead source, add to emailtrack.toml:")
        out += ["    " + line for line in g.toml.splitlines()] if g.toml else []
        out.append("")
    return out
