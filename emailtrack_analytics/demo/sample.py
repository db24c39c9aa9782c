"""A realistic, deterministic demo data set and the ground truth to test the product against.

``write_sample(root)`` writes, for a fictitious network of 25 real-estate agencies, a year of the
copies that their tracked addresses received (mbox files, ``.eml`` files, one Maildir), the
multi-distribution system's log, what the agencies' own mail systems saw (mail logs of three
regions, two agencies' own mailbox exports), the matching ``emailtrack.toml`` and, under
``data/sample-truth/``, what the product should find: for every message file occurrence, and
for coverage (leads received against leads tracked). The same (end_month, seed, scale) always
gives byte-identical files.

How copies reach tracking follows ``shared/DOMAIN.md``: each point of sale has one main set-up
(portal CC, Gmail filter forwarding, redirect, Outlook-style forward), a few have a second one
(so some leads arrive twice), three have a tracked address reserved for one portal, and the
Île-de-France group's website and part of its leboncoin leads go through the multi-distribution
system. Five points of sale lose leads on the way (``FAILURES``: a bounced forward, a CC that
disappeared, a client-side rule that only runs while Outlook is open, an agency that never set
up tracking, a forwarding rule that stops in month 7); one sees a real drop in business, and an
unknown portal starts writing in the last month (see ``sample_facts.json`` and ``alerts.csv``).
Two of SeLoger's drifted leads in the month of its template spike carry hostile strings (a
``<script>`` in the subject, a ``javascript:`` link in the HTML body) that every report must
show as text (``sample_facts.json`` ``untrusted_strings``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import random
import re
import shutil
from collections import Counter
from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from . import logs
from . import templates as tpl
from .logs import ForwardLeg, MailboxDelivery, Rejection
from .templates import PARIS, UTC, Composed, Listing, Prospect

TRACK_DOMAIN = "track.example.net"
TRACKING_MX = "mx1.track.example.net"
AGENCY_DOMAIN = "agence-exemple.fr"
DISTRIBUTION_ADDRESS = f"reseau@{TRACK_DOMAIN}"
CENTRAL_INBOX = f"leads-idf@{AGENCY_DOMAIN}"
DISTRIBUTION_GROUP = "Île-de-France"
CC_PORTALS = ("leboncoin", "seloger", "bienici", "site-agence")
CHANNEL_OF_SETUP = {"cc": "cc", "gmail-forward": "redirect", "redirect": "redirect",
                    "outlook-forward": "forward", "direct": "direct", "distribution": "distribution"}
STOPPED_POINT_OF_SALE = "bordeaux-chartrons"
MAILDIR_GROUP = "Gironde"
SERVER_FORWARDS = ("gmail-forward", "redirect")     # set-ups the mailbox's server forwards (same Message-ID)
MAILBOX_FORWARDS = SERVER_FORWARDS + ("outlook-forward",)   # set-ups that forward from the mailbox

# Tracking failures planted in the sample, one point of sale each (sample_facts.json "failures").
FAILURES = {
    "forward_bounced": "lyon-3",                # the forward to tracking bounces (mailbox full) ~12 days in month 9
    "cc_absent": "lyon-2",                      # leboncoin leads lose their CC from mid month 10
    "client_rule_offline": "paris-15",          # Outlook desktop rule: nothing forwarded while Outlook is closed
    "never_forwards": "paris-9",                # a new agency that never set up tracking
    "forwarding_stopped": STOPPED_POINT_OF_SALE,  # the forwarding rule stops in month 7
}
BOUNCE_DAYS = 12
OUTLOOK_OPEN = ((8, 30), (19, 0))               # weekdays, local time: when the Outlook desktop client runs
DROP_POINT_OF_SALE, DROP_SHARE = "merignac", 0.3   # a real drop of business in the last month
UNKNOWN_PORTAL_POINTS = ("villeurbanne", "boulogne", "pessac", "libourne", "aubagne")
UNKNOWN_PORTAL_MESSAGES = 25                    # at scale 1, in the last month
HOSTILE_LEADS = 2                               # drifted SeLoger leads given hostile strings (make_hostile)

# What each group's own mail platform exports; Bouches-du-Rhône has no logs, but two of its
# points of sale export their own mailbox (last months only). The exports are written apart
# from data/sample/ (like the ground truth), so that ingesting data/sample reads tracking
# evidence and logs only; `emailtrack ingest data/sample` reads them with the rest (role: mailbox).
LOG_PLATFORMS = {"Rhône": "postfix", "Île-de-France": "m365", "Gironde": "gws"}
MAILBOX_EXPORT_POINTS = ("marseille-6", "aix-en-provence")
MAILBOX_EXPORT_MONTHS = 3
MAILBOX_EXPORT_DIR = Path("data") / "sample" / "mailbox"
TRACKING_RELAY_OUT = ("out.track.example.net", "198.51.100.8")  # the tracking service relaying to mailboxes
REJECTIONS_PER_MONTH = 3.0                      # refused spam attempts per point of sale (scale 1)
GROUP_NOTES_PER_MONTH = 2.0                     # internal notes to each group's list (scale 1)
DEFERRED_FORWARD_SHARE = 0.04                   # server-side forwards retried once (connection timed out)

GROUND_TRUTH_COLUMNS = ["source", "message_id", "point_of_sale", "portal", "category", "channel",
                        "lead_id", "distribution_points", "duplicate_of", "expected_quarantine", "lead_month"]
LEAD_DETAIL_COLUMNS = ["lead_id", "name", "email", "email_is_relay", "phone", "listing_reference"]
DISTRIBUTION_LOG_COLUMNS = ["received_at", "message_id", "sender", "subject", "delivered_to"]
COVERAGE_COLUMNS = ["month", "point_of_sale", "expected", "tracked", "missing"]
MISSING_COLUMNS = ["lead_id", "message_id", "point_of_sale", "month", "cause"]
ALERT_COLUMNS = ["kind", "point_of_sale", "portal", "month", "detail"]
DELIVERY_COLUMNS = ["lead_id", "message_id", "point_of_sale", "mailbox", "delivered_at", "month", "evidence",
                    "tracked", "cause"]
MAILBOX_MESSAGE_COLUMNS = ["source", "message_id", "point_of_sale", "lead_id", "category"]


# --------------------------------------------------------------------------- the network

@dataclass(frozen=True)
class PointOfSale:
    id: str
    name: str
    group: str
    city: str
    postcode: str
    quarters: tuple[str, ...]
    size: float                          # relative lead volume
    setup: str                           # cc | gmail-forward | redirect | outlook-forward | none
    provider: str                        # who hosts its mailbox: google | microsoft | ovh
    forward_style: str = ""              # outlook-web | outlook-desktop | gmail | apple | thunderbird
    fallback_setup: str = ""             # for a cc set-up: the rule used for portals without CC
    second_setup: str = ""               # a second route that duplicates some leads ...
    second_portals: tuple[str, ...] = ()  # ... from these portals ...
    second_share: float = 0.0            # ... this often
    direct_portal: str = ""              # portal writing to a tracked address of its own
    portal_boost: tuple[tuple[str, float], ...] = ()
    mailboxes: tuple[str, ...] = ()
    opens: int = 0                       # index of the first month it receives mail (a new agency)

    @property
    def tracked_address(self) -> str:
        return f"{self.id}@{TRACK_DOMAIN}"

    @property
    def direct_address(self) -> str:
        return f"{self.id}-{self.direct_portal}@{TRACK_DOMAIN}"

    @property
    def mailbox(self) -> str:
        return self.mailboxes[0] if self.mailboxes else f"{self.id}@{AGENCY_DOMAIN}"


def _pos(id_: str, name: str, group: str, city: str, postcode: str, quarters: Iterable[str], size: float,
         setup: str, provider: str, **options: Any) -> PointOfSale:
    return PointOfSale(id_, name, group, city, postcode, tuple(quarters), size, setup, provider, **options)


NETWORK: tuple[PointOfSale, ...] = (
    _pos("lyon-2", "Agence Lyon 2e – Bellecour", "Rhône", "Lyon 2e", "69002",
         ["Bellecour", "Confluence", "Ainay"], 3.0, "cc", "ovh", fallback_setup="redirect", direct_portal="seloger"),
    _pos("lyon-3", "Agence Lyon 3e – Part-Dieu", "Rhône", "Lyon 3e", "69003",
         ["Part-Dieu", "Montchat", "Guillotière"], 2.6, "gmail-forward", "google"),
    _pos("lyon-6", "Agence Lyon 6e – Brotteaux", "Rhône", "Lyon 6e", "69006",
         ["Brotteaux", "Foch", "Parc de la Tête d'Or"], 2.0, "outlook-forward", "microsoft",
         forward_style="outlook-web", portal_boost=(("bienici", 1.5),)),
    _pos("villeurbanne", "Agence Villeurbanne Gratte-Ciel", "Rhône", "Villeurbanne", "69100",
         ["Gratte-Ciel", "Charpennes", "Cusset"], 1.6, "redirect", "ovh"),
    _pos("caluire", "Agence Caluire-et-Cuire", "Rhône", "Caluire-et-Cuire", "69300",
         ["Montessuy", "Saint-Clair", "Vassieux"], 1.2, "cc", "google", fallback_setup="gmail-forward",
         second_setup="gmail-forward", second_portals=CC_PORTALS, second_share=0.6),
    _pos("ecully", "Agence Écully", "Rhône", "Écully", "69130",
         ["Centre", "Le Pérollier", "Les Sources"], 0.9, "outlook-forward", "google", forward_style="gmail"),
    _pos("paris-11", "Agence Paris 11e – Oberkampf", "Île-de-France", "Paris 11e", "75011",
         ["Oberkampf", "Bastille", "Voltaire"], 3.6, "gmail-forward", "google",
         portal_boost=(("figaro", 2.0), ("greenacres", 0.3)),
         mailboxes=("paris-11@agence-exemple.fr", "direction.paris11@agence-exemple.fr")),
    _pos("paris-15", "Agence Paris 15e – Commerce", "Île-de-France", "Paris 15e", "75015",
         ["Commerce", "Convention", "Beaugrenelle"], 3.4, "outlook-forward", "microsoft",
         forward_style="outlook-desktop", second_setup="cc", second_portals=("seloger",), second_share=0.4,
         portal_boost=(("figaro", 2.5), ("greenacres", 0.3))),
    _pos("paris-17", "Agence Paris 17e – Batignolles", "Île-de-France", "Paris 17e", "75017",
         ["Batignolles", "Ternes", "Monceau"], 2.4, "cc", "microsoft", fallback_setup="redirect",
         portal_boost=(("figaro", 2.0), ("pap", 0.4), ("logicimmo", 0.4))),
    _pos("boulogne", "Agence Boulogne-Billancourt", "Île-de-France", "Boulogne-Billancourt", "92100",
         ["Centre", "Silly-Gallieni", "Point-du-Jour"], 2.2, "redirect", "microsoft"),
    _pos("vincennes", "Agence Vincennes", "Île-de-France", "Vincennes", "94300",
         ["Centre", "Diderot", "Bérault"], 1.4, "outlook-forward", "ovh", forward_style="apple"),
    _pos("saint-germain", "Agence Saint-Germain-en-Laye", "Île-de-France", "Saint-Germain-en-Laye", "78100",
         ["Centre", "Le Bel-Air", "Grandes Terres"], 1.0, "gmail-forward", "google"),
    _pos("paris-9", "Agence Paris 9e – Opéra", "Île-de-France", "Paris 9e", "75009",
         ["Opéra", "Saint-Georges", "Martyrs"], 1.6, "none", "microsoft", opens=8),
    _pos("bordeaux-chartrons", "Agence Bordeaux Chartrons", "Gironde", "Bordeaux", "33000",
         ["Chartrons", "Jardin Public", "Bassins à flot"], 2.4, "outlook-forward", "microsoft",
         forward_style="outlook-web", mailboxes=("contact@chartrons-immobilier.fr",)),
    _pos("bordeaux-saint-pierre", "Agence Bordeaux Saint-Pierre", "Gironde", "Bordeaux", "33000",
         ["Saint-Pierre", "Saint-Michel", "Victoire"], 2.0, "cc", "google", fallback_setup="gmail-forward"),
    _pos("merignac", "Agence Mérignac Centre", "Gironde", "Mérignac", "33700",
         ["Centre", "Arlac", "Capeyron"], 1.5, "gmail-forward", "google"),
    _pos("pessac", "Agence Pessac", "Gironde", "Pessac", "33600",
         ["Centre", "Saige", "Cap de Bos"], 1.1, "redirect", "ovh"),
    _pos("arcachon", "Agence Arcachon – Ville d'Hiver", "Gironde", "Arcachon", "33120",
         ["Ville d'Hiver", "Le Moulleau", "Aiguillon"], 1.3, "outlook-forward", "ovh",
         forward_style="thunderbird", direct_portal="greenacres", portal_boost=(("greenacres", 6.0),)),
    _pos("libourne", "Agence Libourne", "Gironde", "Libourne", "33500",
         ["Centre", "Les Dagueys", "Condat"], 0.8, "gmail-forward", "google"),
    _pos("marseille-8", "Agence Marseille 8e – Prado", "Bouches-du-Rhône", "Marseille 8e", "13008",
         ["Prado", "Bonneveine", "Pointe-Rouge"], 3.2, "gmail-forward", "google", direct_portal="leboncoin"),
    _pos("marseille-6", "Agence Marseille 6e – Castellane", "Bouches-du-Rhône", "Marseille 6e", "13006",
         ["Castellane", "Notre-Dame-du-Mont", "Préfecture"], 2.0, "outlook-forward", "microsoft",
         forward_style="outlook-web"),
    _pos("aix-en-provence", "Agence Aix-en-Provence Mazarin", "Bouches-du-Rhône", "Aix-en-Provence", "13100",
         ["Mazarin", "Jas de Bouffan", "Centre historique"], 2.2, "redirect", "ovh",
         second_setup="cc", second_portals=("leboncoin",), second_share=0.9),
    _pos("la-ciotat", "Agence La Ciotat", "Bouches-du-Rhône", "La Ciotat", "13600",
         ["Centre", "Saint-Jean", "Liouquet"], 1.0, "cc", "ovh", fallback_setup="redirect"),
    _pos("aubagne", "Agence Aubagne", "Bouches-du-Rhône", "Aubagne", "13400",
         ["Centre", "Les Passons", "Beaudinard"], 0.8, "gmail-forward", "google"),
    _pos("cassis", "Agence Cassis – Port", "Bouches-du-Rhône", "Cassis", "13260",
         ["Port", "Les Calanques", "Bestouan"], 0.8, "outlook-forward", "microsoft",
         forward_style="outlook-web", portal_boost=(("greenacres", 5.0),), mailboxes=("agence@cassis-immobilier.fr",)),
)
POINTS_OF_SALE = {pos.id: pos for pos in NETWORK}
GROUP_TOWNS = {
    "Rhône": ["Lyon", "Villeurbanne", "Vénissieux", "Caluire-et-Cuire", "Bron", "Oullins", "Écully"],
    "Île-de-France": ["Paris", "Montreuil", "Boulogne-Billancourt", "Vincennes", "Levallois-Perret",
                      "Issy-les-Moulineaux"],
    "Gironde": ["Bordeaux", "Mérignac", "Pessac", "Talence", "Bègles", "Arcachon", "Libourne"],
    "Bouches-du-Rhône": ["Marseille", "Aix-en-Provence", "Aubagne", "La Ciotat", "Cassis", "Martigues"],
}
SETUP_NOTES = {  # what the config's comment says about each set-up
    "none": "New agency (opened 4 months ago): tracking not set up yet, nothing is forwarded",
    "cc": "Cc on leboncoin, SeLoger, Bien'ici and the site form",
    "gmail-forward": "Gmail filter forwards the portals' mail",
    ("redirect", "ovh"): "Apple Mail rule redirects the leads",
    ("redirect", "microsoft"): "Outlook rule redirects the leads",
    "outlook-web": "Outlook on the web rule forwards the leads (TR:)",
    "outlook-desktop": "Outlook rule forwards the leads (TR:); runs only while Outlook is open",
    "gmail": "the assistant forwards each lead by hand from Gmail (Fwd:)",
    "apple": "Apple Mail rule forwards the leads",
    "thunderbird": "Thunderbird filter forwards the leads",
}

# --------------------------------------------------------------------------- volume model

BASE_MONTHLY_LEADS = 15.8                 # per unit of point-of-sale size
MONTHLY_GROWTH = 0.012
SEASONALITY = {1: 0.85, 2: 0.95, 3: 1.15, 4: 1.2, 5: 1.2, 6: 1.12, 7: 0.9, 8: 0.55, 9: 1.2,
               10: 1.05, 11: 0.95, 12: 0.78}
WEEKDAY_WEIGHTS = (1.1, 1.05, 1.0, 1.0, 0.95, 0.8, 1.0)
HOUR_WEIGHTS_WEEKDAY = (3, 2, 1, 1, 1, 2, 4, 8, 12, 15, 16, 15, 14, 15, 16, 16, 17, 19, 24, 27, 28, 25, 17, 8)
HOUR_WEIGHTS_SATURDAY = (3, 2, 1, 1, 1, 1, 3, 6, 12, 17, 19, 18, 15, 14, 16, 16, 16, 16, 17, 17, 17, 15, 11, 6)
HOUR_WEIGHTS_SUNDAY = (4, 2, 1, 1, 1, 1, 2, 4, 7, 11, 14, 14, 12, 13, 15, 17, 19, 22, 28, 33, 35, 31, 20, 9)
BASE_PORTAL_MIX = {"leboncoin": 30, "seloger": 24, "bienici": 12, "logicimmo": 8, "pap": 3, "figaro": 5,
                   "greenacres": 3, "site-agence": 15}
HOLIDAYS = {(1, 1): 0.4, (5, 1): 0.6, (7, 14): 0.6, (8, 15): 0.5, (11, 1): 0.7, (12, 25): 0.3}
NON_LEAD_RATES = {"favourite": 0.8, "notice": 0.5}       # per month per unit of size
NON_LEAD_FLAT_RATES = {"newsletter": 1.2, "spam": 0.8, "other": 0.5}   # per month per point of sale
AUTO_REPLY_SHARE, FOLLOW_UP_SHARE = 0.025, 0.25          # of leads, of Green-Acres leads


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, product, count = math.exp(-mean), rng.random(), 0
    while product > limit:
        product *= rng.random()
        count += 1
    return count


def _local(day: dt.date, hour: int, minute: int, second: int) -> dt.datetime:
    """A Paris wall-clock time, moved past the spring-forward gap when it falls in it."""
    naive = dt.datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=PARIS)
    return naive.astimezone(UTC).astimezone(PARIS)


def _month_days(month: str) -> tuple[list[dt.date], list[float]]:
    year, number = map(int, month.split("-"))
    first = dt.date(year, number, 1)
    days = [first + dt.timedelta(d) for d in range(31) if (first + dt.timedelta(d)).month == number]
    weights = []
    for day in days:
        weight = WEEKDAY_WEIGHTS[day.weekday()] * HOLIDAYS.get((day.month, day.day), 1.0)
        if day.month == 12 and day.day >= 22 or day.month == 8 and 8 <= day.day <= 22:
            weight *= 0.5
        weights.append(weight)
    return days, weights


def _hour_weights(day: dt.date) -> tuple[int, ...]:
    return {5: HOUR_WEIGHTS_SATURDAY, 6: HOUR_WEIGHTS_SUNDAY}.get(day.weekday(), HOUR_WEIGHTS_WEEKDAY)


def _months_ending(end_month: str) -> list[str]:
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", end_month):
        raise ValueError(f"end_month must be YYYY-MM, got {end_month!r}")
    year, month = map(int, end_month.split("-"))
    index = year * 12 + month - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - 11, index + 1)]


def last_complete_month(today: dt.date, tz: str = "Europe/Paris") -> str:
    """The month before ``today``'s month as ``YYYY-MM``; an aware datetime is read in ``tz``."""
    if isinstance(today, dt.datetime) and today.tzinfo is not None:
        today = today.astimezone(ZoneInfo(tz))
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{year:04d}-{month:02d}"


# --------------------------------------------------------------------------- records

@dataclass
class Lead:
    """A prospect's contact request, and how its copies travel to tracking (``routes``)."""

    lead_id: str
    point_of_sale: PointOfSale
    portal: str
    sent_at: dt.datetime
    prospect: Prospect
    listing: Listing
    composed: Composed
    routes: list[str] = field(default_factory=list)
    distribution_points: tuple[str, ...] = ()
    traps: set[str] = field(default_factory=set)
    message_id: str = ""
    missing_cause: str = ""              # why no copy reached tracking (a FAILURES kind), if none did


@dataclass
class Original:
    """An e-mail as its sender sent it (before any delivery added trace headers)."""

    composed: Composed
    to: list[str]
    cc: list[str]
    sent_at: dt.datetime
    message_id: str
    raw: bytes


@dataclass
class Copy:
    """One message that a tracked address received, with what the product should find in it."""

    raw: bytes
    received_at: dt.datetime
    group: str
    message_id: str
    point_of_sale: str
    portal: str
    category: str
    channel: str
    lead_id: str = ""
    distribution_points: str = ""
    placement: str = ""                  # forced placement: "mbox", or "" to let chance decide
    trap: str = ""
    sent_at: dt.datetime | None = None   # when the lead was sent (its month is the lead's month)


@dataclass(frozen=True)
class SampleInfo:
    """What :func:`write_sample` wrote; ``messages`` counts every message file occurrence
    (ground-truth rows, quarantined files included)."""

    root: Path
    config_text: str
    data_dir: Path        # what to ingest: root/data/sample
    truth_dir: Path       # ground truth, kept apart so that ingesting data_dir reads only mail
    months: list[str]
    messages: int
    expected_quarantined: int


# --------------------------------------------------------------------------- delivery

FORWARDING_HOSTS = {  # who hands a forwarded or redirected copy to the tracking server
    "google": ("mail-sor-f41.google.com", "192.0.2.41"),
    "microsoft": ("mail-am6eur05on2070.outbound.protection.outlook.com", "192.0.2.70"),
    "ovh": ("mo552.mail-out.ovh.net", "192.0.2.52"),
}
DISPATCHER = ("dispatch.agence-exemple.fr", "192.0.2.30")


def _tracking_delivery(rcpt: str, when: dt.datetime, sender_host: tuple[str, str], ids: tpl.Ids) -> bytes:
    """What the tracking service's server puts on top of every copy it receives."""
    return (f"Delivered-To: {rcpt}\n" + tpl.received(TRACKING_MX, rcpt, when, sender_host, ids)).encode()


def _office_time(moment: dt.datetime, rng: random.Random, max_minutes: int) -> dt.datetime:
    """When someone (or a client-side rule that runs only while the mail client is open) acts
    on a message received at ``moment``: within opening hours, else at the next opening."""
    local = moment.astimezone(PARIS)
    for offset in range(6):
        day = local.date() + dt.timedelta(days=offset)
        if day.weekday() == 6:
            continue
        opens, closes = ((8, 30), (19, 0)) if day.weekday() < 5 else ((9, 0), (12, 30))
        start, end = _local(day, *opens, 0), _local(day, *closes, 0)
        if offset == 0 and start <= local < end:
            return local + dt.timedelta(seconds=rng.randint(20, 60 * max_minutes))
        if local < start:
            return start + dt.timedelta(seconds=rng.randint(60, 60 * 45))
    return local + dt.timedelta(minutes=5)


def _outlook_open(moment: dt.datetime) -> bool:
    """Whether the Outlook desktop client of a point of sale runs at ``moment``: weekdays,
    08:30-19:00 Paris time. Its client-side rules only act on mail arriving then."""
    local = moment.astimezone(PARIS)
    (open_h, open_m), (close_h, close_m) = OUTLOOK_OPEN
    return local.weekday() < 5 and (open_h, open_m) <= (local.hour, local.minute) < (close_h, close_m)


# --------------------------------------------------------------------------- the generator

class _SampleBuilder:
    """Draws leads and non-leads for the 12 months, renders every tracking copy, and records
    every delivery to a point of sale's own mailbox (for the mail logs and mailbox exports)."""

    def __init__(self, months: list[str], seed: int, scale: float):
        self.months, self.seed, self.scale = months, seed, scale
        self.window_start = logs.month_bounds(months[0])[0]
        self.window_end = logs.month_bounds(months[-1])[1]
        self.ids = tpl.Ids(self._rng("ids"))
        self.rng = self._rng("render")
        stop = self._rng("stop")
        year, month = map(int, months[6].split("-"))
        self.stop_at = _local(dt.date(year, month, stop.randint(9, 22)), stop.randint(9, 17), stop.randrange(60), 0)
        failures = self._rng("failures")
        year, month = map(int, months[8].split("-"))
        self.bounce_from = _local(dt.date(year, month, failures.randint(6, 14)), failures.randint(7, 11),
                                  failures.randrange(60), 0)
        self.bounce_until = self.bounce_from + dt.timedelta(days=BOUNCE_DAYS, hours=failures.randint(1, 8))
        year, month = map(int, months[9].split("-"))
        self.cc_absent_from = _local(dt.date(year, month, failures.randint(13, 17)), failures.randint(9, 17),
                                     failures.randrange(60), 0)
        self.listings = {
            pos.id: tpl.make_listings(self._rng("listings", pos.id), _listing_code(pos), pos.group, pos.city,
                                      pos.postcode, list(pos.quarters), 12 + round(6 * pos.size))
            for pos in NETWORK}
        self.copies: list[Copy] = []
        self.distribution_log: list[tuple[dt.datetime, str, str, str, str]] = []
        self.deliveries: list[MailboxDelivery] = []
        self.rejections: list[Rejection] = []
        self.unknown_portal_copies: list[Copy] = []

    def _rng(self, *names: object) -> random.Random:
        return random.Random(":".join(map(str, (self.seed, *names))))

    def _clamp(self, when: dt.datetime, earliest: dt.datetime) -> dt.datetime:
        latest = self.window_end - dt.timedelta(seconds=1)
        return max(earliest, min(when, latest)).astimezone(PARIS)

    def _stopped(self, pos: PointOfSale, when: dt.datetime) -> bool:
        return pos.id == STOPPED_POINT_OF_SALE and when >= self.stop_at

    def _cc_absent(self, pos: PointOfSale, portal: str, when: dt.datetime) -> bool:
        """Whether the portal account of ``pos`` lost the tracked address in CC (recreated)."""
        return pos.id == FAILURES["cc_absent"] and portal == "leboncoin" and when >= self.cc_absent_from

    def _lost_on_the_way(self, route: str, pos: PointOfSale, in_mailbox: dt.datetime, when: dt.datetime) -> str:
        """Why the copy taking ``route`` (due at tracking at ``when``) never arrived: a
        ``FAILURES`` kind, or "" when it arrived."""
        if route != "distribution" and self._stopped(pos, when):
            return "forwarding_stopped"
        if route == "outlook-forward" and pos.forward_style == "outlook-desktop" and not _outlook_open(in_mailbox):
            return "client_rule_offline"
        if route in SERVER_FORWARDS and pos.id == FAILURES["forward_bounced"] \
                and self.bounce_from <= when < self.bounce_until:
            return "forward_bounced"
        return ""

    # ---- leads

    def make_leads(self) -> list[Lead]:
        """Every lead of the year, oldest first, with the routes its copies take to tracking."""
        rng = self._rng("leads")
        drafts: list[tuple[dt.datetime, int, PointOfSale, str, int]] = []
        drawn: Counter[tuple[str, int]] = Counter()
        levels = [BASE_MONTHLY_LEADS * SEASONALITY[int(month[5:])] * (1 + MONTHLY_GROWTH * index) * self.scale
                  for index, month in enumerate(self.months)]
        for index, month in enumerate(self.months):
            days, day_weights = _month_days(month)
            for pos in NETWORK:
                if index < pos.opens:
                    continue
                mix = _portal_mix(pos)
                count = _poisson(rng, levels[index] * pos.size)
                if pos.id == DROP_POINT_OF_SALE and index == len(self.months) - 1:
                    # a real drop of business: ~30 % of the previous 3 months' average
                    count = round(DROP_SHARE * sum(drawn[(pos.id, i)] for i in range(index - 3, index)) / 3)
                drawn[(pos.id, index)] = count
                for _ in range(count):
                    day = rng.choices(days, day_weights)[0]
                    sent = _local(day, rng.choices(range(24), _hour_weights(day))[0], rng.randrange(60),
                                  rng.randrange(60))
                    portal = rng.choices(list(mix), list(mix.values()))[0]
                    drafts.append((sent, len(drafts), pos, portal, index))
        drafts.sort(key=lambda draft: draft[:2])
        return [self._lead(f"L{number:05d}", pos, portal, sent, index, rng)
                for number, (sent, _, pos, portal, index) in enumerate(drafts, 1)]

    def _lead(self, lead_id: str, pos: PointOfSale, portal: str, sent: dt.datetime, month_index: int,
              rng: random.Random) -> Lead:
        listings = self.listings[pos.id]
        if portal == "greenacres":  # a buyers' portal: its leads are about listings for sale
            listings = [listing for listing in listings if listing.transaction == "vente"]
        listing = rng.choice(listings)
        prospect = tpl.make_prospect(rng, rng.choice(GROUP_TOWNS[pos.group]),
                                     foreign=portal == "greenacres" and rng.random() < 0.8)
        # leboncoin's labelled body replaced the older one in month 5 (template drift)
        newer = rng.random() < (0.1 if month_index < 4 else 0.95)
        attachment = (tpl.pdf_blob(rng, rng.randrange(2500, 6000))
                      if portal == "site-agence" and rng.random() < 0.05 else None)
        composed = tpl.compose_lead(portal, prospect, listing, rng, agency=pos.name, newer_template=newer,
                                    attachment=attachment)
        lead = Lead(lead_id, pos, portal, sent, prospect, listing, composed)
        if portal == "seloger" and month_index >= len(self.months) - 2 and rng.random() < 0.3:
            # SeLoger tries a new subject in the last two months (template drift): still leads,
            # which the product must count and flag as an unrecognised template
            composed.subject = f"Nouvelle demande de contact pour votre bien {listing.ref}"
            lead.traps.add("template_drift")
        lead.routes = self._routes(lead, rng)
        if lead.routes == ["distribution"]:
            others = [p.id for p in NETWORK if p.group == pos.group and p.id != pos.id and p.setup != "none"]
            lead.distribution_points = (pos.id, *rng.sample(others, rng.choices([0, 1, 2], [55, 30, 15])[0]))
        return lead

    def _routes(self, lead: Lead, rng: random.Random) -> list[str]:
        """The routes the lead's copies take to tracking; none (and ``lead.missing_cause``) when
        its point of sale has no working set-up for it when it is sent."""
        pos, portal = lead.point_of_sale, lead.portal
        if pos.setup == "none":
            lead.missing_cause = "never_forwards"
            return []
        if pos.group == DISTRIBUTION_GROUP and (
                portal == "site-agence" or portal == "leboncoin" and rng.random() < 0.5):
            return ["distribution"]
        if self._stopped(pos, lead.sent_at):
            lead.missing_cause = "forwarding_stopped"
            return []
        if portal == pos.direct_portal:
            return ["direct"]
        if self._cc_absent(pos, portal, lead.sent_at):
            lead.missing_cause = "cc_absent"  # CC portal: no rule forwards it either
            return []
        main = pos.fallback_setup if pos.setup == "cc" and portal not in CC_PORTALS else pos.setup
        routes = [main]
        if portal in pos.second_portals and pos.second_setup != main and rng.random() < pos.second_share:
            routes.append(pos.second_setup)
        return routes

    def assign_traps(self, leads: list[Lead]) -> None:
        """Mark a few single-copy leads with the encoding and header defects of DOMAIN.md."""
        rng = self._rng("traps")

        def pick(trap: str, count: int, accept: Callable[[Lead], bool]) -> None:
            candidates = [lead for lead in leads if len(lead.routes) == 1 and not lead.traps and accept(lead)]
            for lead in rng.sample(candidates, min(count, len(candidates))):
                lead.traps.add(trap)

        def website(lead: Lead) -> bool:
            return lead.portal == "site-agence" and lead.routes[0] in ("cc", "distribution")

        pick("no_date_no_received", 2, website)
        pick("no_date", 3, website)
        # the distribution log joins on the Message-ID, and so do the mail logs: only where no log is kept
        pick("no_message_id", 4, lambda lead: website(lead) and lead.routes == ["cc"]
             and lead.point_of_sale.group not in LOG_PLATFORMS
             and lead.point_of_sale.id not in MAILBOX_EXPORT_POINTS)
        pick("latin1_headers", 3, lambda lead: website(lead) and not lead.composed.subject.isascii())
        pick("split_encoded_word", 4, lambda lead: lead.portal == "bienici" and lead.routes[0] != "outlook-forward")
        pick("from_line", 3, lambda lead: lead.portal in ("greenacres", "leboncoin")
             and lead.routes[0] != "outlook-forward")
        for lead in leads:
            if "from_line" in lead.traps:
                lead.composed = tpl.compose_lead(lead.portal, lead.prospect, lead.listing, rng,
                                                 agency=lead.point_of_sale.name, message=tpl.LEAD_MESSAGES_EN[1])

    def plant_hostile_strings(self, leads: list[Lead]) -> list[Lead]:
        """Give the first ``HOSTILE_LEADS`` SeLoger leads of the template spike's month (drifted,
        so their subject shows among the alert's examples) a ``<script>`` subject and a
        ``javascript:`` link (``tpl.make_hostile``). Only leads whose copies keep the original's
        bytes (CC, server forward, redirect) at a point of sale without a planted failure; no
        random draw, so the rest of the sample is unchanged."""
        month = self.months[-2]
        chosen = [lead for lead in leads
                  if lead.portal == "seloger" and "template_drift" in lead.traps
                  and lead.sent_at.strftime("%Y-%m") == month
                  and lead.routes and set(lead.routes) <= {"cc", "gmail-forward", "redirect"}
                  and lead.point_of_sale.id not in FAILURES.values()][:HOSTILE_LEADS]
        for lead in chosen:
            tpl.make_hostile(lead.composed)
        return chosen

    # ---- rendering

    def original(self, c: Composed, to: list[str], cc: list[str], sent_at: dt.datetime,
                 traps: AbstractSet[str] = frozenset()) -> Original:
        """The e-mail as its sender sent it; ``traps`` remove or spoil headers on purpose."""
        message_id = "" if "no_message_id" in traps else self.ids.message_id(c.message_id_domain, sent_at)
        headers: list[tuple[str, tpl.HeaderValue]] = []
        if "no_date_no_received" not in traps and self.rng.random() < 0.5:
            headers.append(("Received", f"from localhost (localhost [127.0.0.1])\n\tby {c.mta[0]} (Postfix) "
                                        f"with ESMTP id {self.ids.queue_id()};\n\t{tpl.rfc_date(sent_at, 'comment')}"))
        latin1 = "latin1_headers" in traps
        name, addr = c.sender
        headers.append(("From", f'"{name}" <{addr}>'.encode("latin-1", "replace") if latin1 and not name.isascii()
                        else tpl.address(name, addr, encoding=c.word_encoding)))
        headers.append(("To", ", ".join(to)))
        if cc:
            headers.append(("Cc", ", ".join(cc)))
        if c.reply_to:
            name, addr = c.reply_to
            headers.append(("Reply-To", f'"{name}" <{addr}>'.encode("latin-1", "replace") if latin1
                            else tpl.address(name, addr, encoding=c.word_encoding)))
        headers.append(("Subject", c.subject.encode("latin-1", "replace") if latin1 else tpl.unstructured(
            "Subject", c.subject, encoding=c.word_encoding, partial=c.partial_encoding,
            split_character="split_encoded_word" in traps)))
        if not traps & {"no_date", "no_date_no_received"}:
            headers.append(("Date", tpl.rfc_date(sent_at, c.date_style)))
        if message_id:
            headers.append(("Message-ID", message_id))
        headers.extend(c.headers)
        raw = tpl.render_message(headers, tpl.body_of(c, self.rng))
        return Original(c, list(to), list(cc), sent_at, message_id, raw)

    def in_mailbox(self, original: Original, provider: str, mailbox: str, when: dt.datetime) -> bytes:
        """The original as it sits in a mailbox: its provider's trace headers on top."""
        c = original.composed
        return tpl.mailbox_delivery(provider, mailbox, when, c.mta, c.sender[1].split("@")[1],
                                    self.ids) + original.raw

    def arrival(self, route: str, pos: PointOfSale, sent: dt.datetime) -> dt.datetime:
        """When the copy taking ``route`` reaches tracking."""
        rng = self.rng
        if route == "outlook-forward" and pos.forward_style != "outlook-web":
            # a client-side rule acts within minutes while the client is open; a person, within the hour
            max_minutes = 4 if pos.forward_style == "outlook-desktop" else 90
            when = _office_time(sent + dt.timedelta(seconds=30), rng, max_minutes)
        else:
            low, high = {"cc": (2, 40), "direct": (2, 40), "gmail-forward": (5, 90), "redirect": (10, 240),
                         "distribution": (20, 180), "outlook-forward": (10, 120)}[route]
            when = sent + dt.timedelta(seconds=rng.randint(low, high))
        return self._clamp(when, sent)

    def copy_via(self, route: str, original: Original, pos: PointOfSale, when: dt.datetime,
                 month_index: int, in_mailbox: dt.datetime) -> tuple[bytes, str]:
        """The bytes a tracked address receives through ``route`` at ``when``, and the copy's
        Message-ID; ``in_mailbox`` is when the point of sale's mailbox (or, for a distribution
        copy, the central inbox) stored the original."""
        ids, rcpt = self.ids, _recipient(route, pos)
        if route == "outlook-forward":
            return self.forward(original, pos, when, rcpt, in_mailbox)
        if route in ("cc", "direct"):
            top, inner = _tracking_delivery(rcpt, when, original.composed.mta, ids), original.raw
        elif route == "gmail-forward":
            top = _tracking_delivery(rcpt, when, FORWARDING_HOSTS["google"], ids) + tpl.render_headers(
                [("X-Forwarded-To", rcpt), ("X-Forwarded-For", f"{pos.mailbox} {rcpt}")])
            inner = self.in_mailbox(original, pos.provider, pos.mailbox, in_mailbox)
        elif route == "redirect":
            top = _tracking_delivery(rcpt, when, FORWARDING_HOSTS[pos.provider], ids) + tpl.render_headers([
                ("Resent-From", tpl.address(pos.name, pos.mailbox)), ("Resent-To", rcpt),
                ("Resent-Date", tpl.rfc_date(when)),
                ("Resent-Message-ID", ids.message_id(pos.mailbox.split("@")[1], when))])
            inner = self.in_mailbox(original, pos.provider, pos.mailbox, in_mailbox)
        else:  # distribution
            top = _tracking_delivery(rcpt, when, DISPATCHER, ids) + tpl.render_headers([("X-Dispatch-Id", ids.hex(64))])
            if month_index < 6:  # until mid-year the system re-sent the message To the tracked address
                inner = original.raw.replace(f"\nTo: {CENTRAL_INBOX}\n".encode(), f"\nTo: {rcpt}\n".encode(), 1)
            else:
                inner = self.in_mailbox(original, "ovh", CENTRAL_INBOX, in_mailbox)
        return top + inner, original.message_id

    def forward(self, original: Original, pos: PointOfSale, when: dt.datetime, rcpt: str,
                received_by_mailbox: dt.datetime) -> tuple[bytes, str]:
        """A new message from the point of sale's mailbox wrapping the original (inline or attached)."""
        rng, style = self.rng, pos.forward_style
        quoted, attached, logo = "", b"", b""
        if style.startswith("outlook") and rng.random() < 0.26:  # Outlook's "forward as attachment"
            attached = self.in_mailbox(original, pos.provider, pos.mailbox, received_by_mailbox)
        else:
            quoted = tpl.forward_block(style, original.composed, original.sent_at, original.to, original.cc)
            if style == "outlook-desktop" and rng.random() < 0.3:  # the signature's image
                logo = tpl.jpeg_blob(rng, rng.randrange(2000, 5000))
        raw, message_id = tpl.forward_message(
            style, sender=(pos.name, pos.mailbox), rcpt=rcpt, when=when, subject=original.composed.subject,
            quoted=quoted, attached=attached, logo=logo, rng=rng, ids=self.ids)
        return _tracking_delivery(rcpt, when, FORWARDING_HOSTS[pos.provider], self.ids) + raw, message_id

    # ---- deliveries to the points of sale's own mailboxes

    def mailbox_time(self, sent: dt.datetime, arrivals: dict[str, dt.datetime]) -> dt.datetime:
        """When a point of sale's mailbox stores a message sent at ``sent``: seconds later, and
        before any forward from the mailbox reaches tracking (``arrivals``: route -> time)."""
        relayed = [(when - sent).total_seconds() for route, when in arrivals.items() if route in MAILBOX_FORWARDS]
        room = min(relayed, default=40.0)
        delay = min(self.rng.randint(2, 20), max(1, int(room // 2)))
        return self._clamp(sent + dt.timedelta(seconds=delay), sent)

    def forward_leg(self, pos: PointOfSale, in_mailbox: dt.datetime, when: dt.datetime, lost: str) -> ForwardLeg:
        """The attempts of the mailbox server's forward to ``pos``'s tracked address, due at
        ``when``: one bounce while the tracking side's mailbox is full; now and then a deferral
        (connection timed out) before the delivery."""
        if lost == "forward_bounced":
            return ForwardLeg(pos.tracked_address, [(when, "bounced")])
        if (when - in_mailbox).total_seconds() >= 90 and self.rng.random() < DEFERRED_FORWARD_SHARE:
            return ForwardLeg(pos.tracked_address, [(in_mailbox + dt.timedelta(seconds=31), "deferred"),
                                                    (when, "sent")])
        return ForwardLeg(pos.tracked_address, [(when, "sent")])

    def deliver(self, pos: PointOfSale, original: Original, when: dt.datetime, category: str, *,
                mailbox: str = "", lead_id: str = "", portal: str = "", forward: ForwardLeg | None = None,
                client: tuple[str, str] | None = None) -> None:
        """Record that ``original`` reached ``pos``'s own mailbox at ``when`` (its bytes are kept
        only where a mailbox export needs them)."""
        c = original.composed
        self.deliveries.append(MailboxDelivery(
            pos.group, pos.id, (mailbox or pos.mailbox,), when, original.message_id, c.sender[1], client or c.mta,
            c.subject, len(original.raw) + 900, category, lead_id, portal, 1 if c.attachment else 0, forward,
            raw=original.raw if pos.id in MAILBOX_EXPORT_POINTS else b""))

    def _deliver_lead(self, lead: Lead, original: Original, in_mailbox: dt.datetime,
                      arrivals: dict[str, dt.datetime], forward: ForwardLeg | None) -> None:
        """Record the lead's deliveries to points of sale's mailboxes: each copy the
        multi-distribution system dispatched, the tracking service's relay of a lead sent to a
        portal's own tracked address, or the lead as its point of sale received it."""
        pos, rng = lead.point_of_sale, self.rng
        if lead.routes == ["distribution"]:
            for point, dispatched in self._log_distribution(lead, original, arrivals["distribution"]):
                when = self._clamp(dispatched + dt.timedelta(seconds=rng.randint(1, 4)), dispatched)
                self.deliver(POINTS_OF_SALE[point], original, when, "lead", lead_id=lead.lead_id,
                             portal=lead.portal, client=DISPATCHER)
        elif lead.routes == ["direct"]:
            when = self._clamp(arrivals["direct"] + dt.timedelta(seconds=rng.randint(2, 30)), arrivals["direct"])
            self.deliver(pos, original, when, "lead", lead_id=lead.lead_id, portal=lead.portal,
                         client=TRACKING_RELAY_OUT)
        else:
            self.deliver(pos, original, in_mailbox, "lead", lead_id=lead.lead_id, portal=lead.portal,
                         forward=forward)

    # ---- copies

    def add_lead_copies(self, lead: Lead, month_index: int) -> None:
        """Render the lead once as sent, record its deliveries to mailboxes, then one copy per
        route that reached tracking; when none did, ``lead.missing_cause`` says why."""
        pos, rng = lead.point_of_sale, self.rng
        to, cc = [pos.mailbox], list[str]()
        if "cc" in lead.routes:
            second_to = rng.random() < 0.3  # some portals take the tracked address as a second To
            to, cc = ([pos.mailbox, pos.tracked_address], []) if second_to else ([pos.mailbox], [pos.tracked_address])
        elif lead.routes == ["direct"]:
            to = [pos.direct_address]
        elif lead.routes == ["distribution"]:
            to = [CENTRAL_INBOX]
        original = self.original(lead.composed, to, cc, lead.sent_at, lead.traps)
        lead.message_id = original.message_id
        arrivals = {route: self.arrival(route, pos, lead.sent_at) for route in lead.routes}
        in_mailbox = self.mailbox_time(lead.sent_at, arrivals)
        forward, causes, arrived = None, [], 0
        for route, when in arrivals.items():
            lost = self._lost_on_the_way(route, pos, in_mailbox, when)
            if route in SERVER_FORWARDS and lost in ("", "forward_bounced"):
                forward = self.forward_leg(pos, in_mailbox, when, lost)
            if lost:
                causes.append(lost)
                continue
            if "no_date_no_received" in lead.traps:  # exported without trace headers: only the mbox line dates it
                raw = f"Delivered-To: {_recipient(route, pos)}\n".encode() + original.raw
                message_id = original.message_id
            else:
                raw, message_id = self.copy_via(route, original, pos, when, month_index, in_mailbox)
            distribution = route == "distribution"
            self.copies.append(Copy(
                raw, when, pos.group, message_id, _distribution_point(lead) if distribution else pos.id,
                lead.portal, "lead",
                CHANNEL_OF_SETUP[route], lead.lead_id, ";".join(lead.distribution_points) if distribution else "",
                "mbox" if lead.traps & {"no_date_no_received", "from_line"} else "", min(lead.traps, default=""),
                lead.sent_at))
            arrived += 1
        if not arrived and causes:
            lead.missing_cause = causes[0]
        self._deliver_lead(lead, original, in_mailbox, arrivals, forward)

    def _log_distribution(self, lead: Lead, original: Original,
                          tracking_at: dt.datetime) -> list[tuple[str, dt.datetime]]:
        """Log the lead's dispatch to its points of sale and to tracking; returns (point of
        sale, dispatched at) for each point of sale."""
        dispatched = lead.sent_at + dt.timedelta(seconds=self.rng.randint(5, 15))
        sender, subject = lead.composed.sender[1], lead.composed.subject
        sent = []
        for offset, point in enumerate(lead.distribution_points):
            when = dispatched + dt.timedelta(seconds=2 * offset)
            self.distribution_log.append((when, original.message_id, sender, subject, POINTS_OF_SALE[point].mailbox))
            sent.append((point, when))
        self.distribution_log.append((tracking_at, original.message_id, sender, subject, DISTRIBUTION_ADDRESS))
        return sent

    def add_non_leads(self, leads: list[Lead]) -> None:
        """Notices, newsletters, auto-replies, follow-ups, spam and internal mail (~15-20 %)."""
        rng = self._rng("non-leads")
        for lead in leads:
            pos = lead.point_of_sale
            if rng.random() < AUTO_REPLY_SHARE:
                when = lead.sent_at + dt.timedelta(minutes=rng.randint(40, 60 * 30))
                self._non_lead(pos, "auto_reply", when, rng, tpl.compose_auto_reply(
                    lead.prospect, lead.listing, when, rng))
            if lead.portal == "greenacres" and lead.routes and rng.random() < FOLLOW_UP_SHARE:
                assert lead.composed.reply_to is not None, "a Green-Acres lead names its relay address"
                when = lead.sent_at + dt.timedelta(days=rng.randint(1, 8), minutes=rng.randint(0, 600))
                self._non_lead(pos, "follow_up", when, rng, tpl.compose_follow_up(
                    lead.composed.subject, lead.message_id or "<unknown@green-acres.com>", lead.composed.reply_to,
                    pos.mailbox.split("@")[1], rng))
        for index, month in enumerate(self.months):
            days, day_weights = _month_days(month)
            for pos in NETWORK:
                if index < pos.opens:
                    continue
                plan = [("favourite", NON_LEAD_RATES["favourite"] * pos.size),
                        ("notice", NON_LEAD_RATES["notice"] * pos.size),
                        *NON_LEAD_FLAT_RATES.items()]
                for kind, rate in plan:
                    for _ in range(_poisson(rng, rate * self.scale)):
                        day = rng.choices(days, day_weights)[0]
                        hour = rng.randrange(24) if kind == "spam" else rng.randint(7, 21)
                        when = _local(day, hour, rng.randrange(60), rng.randrange(60))
                        self._periodic(kind, pos, when, rng)

    def _periodic(self, kind: str, pos: PointOfSale, when: dt.datetime, rng: random.Random) -> None:
        listing = rng.choice(self.listings[pos.id])
        if kind == "favourite":
            self._non_lead(pos, "notification", when, rng, tpl.compose_favourite(listing))
        elif kind == "notice":
            portal = rng.choice(["seloger", "bienici"])
            self._non_lead(pos, "notification", when, rng, tpl.compose_portal_notice(portal, listing, when, rng))
        elif kind == "newsletter":
            self._non_lead(pos, "newsletter", when, rng, tpl.compose_newsletter(when, rng))
        elif kind == "spam":
            self._non_lead(pos, "spam", when, rng, tpl.compose_spam(rng))
        else:
            self._non_lead(pos, "other", when, rng, tpl.compose_internal(listing, pos.mailbox.split("@")[1], rng))

    def _non_lead_route(self, pos: PointOfSale, category: str, composed: Composed, sent: dt.datetime,
                        rng: random.Random) -> str:
        """How a non-lead reaches tracking: a set-up, ``direct`` (sent to the tracked address
        only), or "" (it only reaches the mailbox)."""
        if pos.setup == "none":
            return ""
        if category == "spam" and rng.random() < 0.4:
            return "direct"
        if pos.setup == "cc":
            route = "cc" if category == "notification" else "direct" if category == "newsletter" else pos.fallback_setup
            return "" if route == "cc" and self._cc_absent(pos, composed.portal, sent) else route
        return pos.setup

    def _non_lead(self, pos: PointOfSale, category: str, sent: dt.datetime, rng: random.Random,
                  composed: Composed) -> None:
        if sent >= self.window_end:
            return
        route = self._non_lead_route(pos, category, composed, sent, rng)
        to, cc = [pos.mailbox], list[str]()
        if route == "cc":
            cc = [pos.tracked_address]
        elif route == "direct":
            to = [pos.tracked_address]
        elif category == "spam" and rng.random() < 0.5:
            to = ["undisclosed-recipients:;"]
        traps = set()
        if category == "auto_reply" and not composed.subject.isascii() and route not in ("", "outlook-forward") \
                and rng.random() < 0.02:  # (a forward would re-encode the headers)
            traps.add("latin1_headers")  # an old mail server that writes raw Latin-1 headers
        original = self.original(composed, to, cc, sent, traps)
        if not route:
            self.deliver(pos, original, self.mailbox_time(sent, {}), category, portal=composed.portal)
            return
        when = self.arrival(route, pos, sent)
        in_mailbox = self.mailbox_time(sent, {route: when})
        lost = self._lost_on_the_way(route, pos, in_mailbox, when)
        if route != "direct":  # sent to the tracked address only: never in the mailbox
            forward = self.forward_leg(pos, in_mailbox, when, lost) \
                if route in SERVER_FORWARDS and lost in ("", "forward_bounced") else None
            self.deliver(pos, original, in_mailbox, category, portal=composed.portal, forward=forward)
        if lost:
            return
        copy_route = "cc" if route == "direct" else route  # a non-lead to the tracked address: delivered as is
        raw, message_id = self.copy_via(copy_route, original, pos, when, 0, in_mailbox)
        if category == "spam":
            raw = tpl.insert_below_first_received(raw, tpl.spam_filter_headers(rng))
        self.copies.append(Copy(raw, when, pos.group, message_id, pos.id, composed.portal, category,
                                CHANNEL_OF_SETUP[route], trap=min(traps, default="")))

    # ---- the last month's surprises and the logs' own noise

    def add_unknown_portal_contacts(self) -> None:
        """Lead-like contacts from a portal the catalogue does not know, with the tracked address
        in CC, in the last month: category ``other`` (the product cannot know them as leads)."""
        rng = self._rng("unknown-portal")
        days, day_weights = _month_days(self.months[-1])
        for _ in range(max(5, round(UNKNOWN_PORTAL_MESSAGES * self.scale))):
            pos = POINTS_OF_SALE[rng.choice(UNKNOWN_PORTAL_POINTS)]
            day = rng.choices(days, day_weights)[0]
            sent = _local(day, rng.choices(range(24), _hour_weights(day))[0], rng.randrange(60), rng.randrange(60))
            prospect = tpl.make_prospect(rng, rng.choice(GROUP_TOWNS[pos.group]))
            composed = tpl.compose_unknown_portal_contact(prospect, rng.choice(self.listings[pos.id]), rng)
            original = self.original(composed, [pos.mailbox], [pos.tracked_address], sent)
            when = self.arrival("cc", pos, sent)
            in_mailbox = self.mailbox_time(sent, {})
            self.deliver(pos, original, in_mailbox, "other")
            raw, message_id = self.copy_via("cc", original, pos, when, 0, in_mailbox)
            self.unknown_portal_copies.append(Copy(raw, when, pos.group, message_id, pos.id, "", "other", "cc"))
            self.copies.append(self.unknown_portal_copies[-1])

    def add_group_notes(self) -> None:
        """Internal notes to each group's list, expanded to the mailbox of each of its points of
        sale: mail that only the mailboxes see (no rule forwards it)."""
        rng = self._rng("group-notes")
        for index, month in enumerate(self.months):
            workdays = [day for day in _month_days(month)[0] if day.weekday() < 5]
            for group in GROUP_TOWNS:
                members = [pos for pos in NETWORK if pos.group == group and index >= pos.opens]
                for _ in range(_poisson(rng, GROUP_NOTES_PER_MONTH * self.scale)):
                    sent = _local(rng.choice(workdays), rng.randint(8, 18), rng.randrange(60), rng.randrange(60))
                    composed = tpl.compose_internal(rng.choice(self.listings[rng.choice(members).id]),
                                                    AGENCY_DOMAIN, rng)
                    address = f"agences-{_slug(group)}@{AGENCY_DOMAIN}"
                    original = self.original(composed, [address], [], sent)
                    keep = any(pos.id in MAILBOX_EXPORT_POINTS for pos in members)
                    self.deliveries.append(MailboxDelivery(
                        group, "", tuple(pos.mailbox for pos in members), self.mailbox_time(sent, {}),
                        original.message_id, composed.sender[1], composed.mta, composed.subject,
                        len(original.raw) + 900, "other", list_address=address, raw=original.raw if keep else b""))

    def add_rejections(self) -> None:
        """Spam attempts that the logged groups' servers refused before accepting them."""
        rng = self._rng("rejections")
        for index, month in enumerate(self.months):
            days = _month_days(month)[0]
            for pos in NETWORK:
                if pos.group not in LOG_PLATFORMS or index < pos.opens:
                    continue
                for _ in range(_poisson(rng, REJECTIONS_PER_MONTH * self.scale)):
                    at = _local(rng.choice(days), rng.randrange(24), rng.randrange(60), rng.randrange(60))
                    _, sender, subject = rng.choice(tpl.SPAM)
                    blocklisted = rng.random() < 0.7
                    recipient = pos.mailbox if blocklisted else \
                        f"{rng.choice(['info', 'contact', 'compta', 'direction'])}.{pos.id}@{AGENCY_DOMAIN}"
                    self.rejections.append(Rejection(
                        pos.group, at, sender, recipient, ("unknown", f"203.0.113.{rng.randint(200, 254)}"), subject,
                        "blocklist" if blocklisted else "unknown_recipient"))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", tpl.strip_accents(text).lower()).strip("-")


def _recipient(route: str, pos: PointOfSale) -> str:
    if route == "distribution":
        return DISTRIBUTION_ADDRESS
    return pos.direct_address if route == "direct" else pos.tracked_address


def _listing_code(pos: PointOfSale) -> str:
    parts = pos.id.split("-")
    return parts[0][:3].upper() + "".join(p if p.isdigit() else p[:2].upper() for p in parts[1:])


def _portal_mix(pos: PointOfSale) -> dict[str, float]:
    boost = dict(pos.portal_boost)
    mix = {portal: weight * boost.get(portal, 1.0) for portal, weight in BASE_PORTAL_MIX.items()}
    if pos.setup == "cc":  # agencies that chose CC rely mostly on the portals that allow it
        mix = {portal: w if portal in CC_PORTALS else w * 0.5 for portal, w in mix.items()}
    return mix


# --------------------------------------------------------------------------- the config

def _setup_note(pos: PointOfSale) -> str:
    if pos.setup == "cc":
        rest = "Gmail filter" if pos.fallback_setup == "gmail-forward" else "redirect rule"
        note = f"{SETUP_NOTES['cc']}; {rest} for the rest"
    elif pos.setup == "outlook-forward":
        note = SETUP_NOTES[pos.forward_style]
    else:
        note = SETUP_NOTES.get((pos.setup, pos.provider)) or SETUP_NOTES[pos.setup]
    if pos.second_setup == "cc":
        note += f"; also Cc on {tpl.PORTAL_NAMES[pos.second_portals[0]]} (those leads arrive twice)"
    elif pos.second_setup:
        note += "; the filter also catches Cc'd leads (twice)"
    if pos.direct_portal:
        note += f"; {tpl.PORTAL_NAMES[pos.direct_portal]} writes to its own tracked address"
    return note


def config_text() -> str:
    """The ``emailtrack.toml`` of the sample network, commented like a hand-written one."""
    out = ["# emailtrack.toml - the sample workspace written by `emailtrack init --sample`.",
           f"# A fictitious network of {len(NETWORK)} real-estate agencies in four regions. data/sample/ holds the",
           "# copies its tracked addresses received over a year (tracking/), the multi-distribution",
           "# system's log (distribution/), the mail logs of three regions (logs/) and two agencies' own",
           "# mailbox exports (mailbox/, for coverage): ingest it all with `emailtrack ingest data/sample`.",
           "", "[workspace]", 'name = "Réseau Exemple"',
           'timezone = "Europe/Paris"            # days and months are cut in this zone',
           'database = "data/emailtrack.duckdb"', "",
           "# The domain the tracked addresses are issued on: `emailtrack addresses add` makes new ones there.",
           "[tracking]", f'domain = "{TRACK_DOMAIN}"', ""]
    group = ""
    for pos in NETWORK:
        if pos.group != group:
            group = pos.group
            out += [f"# {'-' * 20} {group} {'-' * (60 - len(group))}", ""]
            if group == DISTRIBUTION_GROUP:
                out += ["# The website's leads, and about half of leboncoin's, reach this region through the",
                        "# multi-distribution system (see the last [[tracked_addresses]]).", ""]
        mailboxes = ", ".join(f'"{m}"' for m in (pos.mailboxes or (pos.mailbox,)))
        out += [f"# {clause}" for clause in _setup_note(pos).split("; ")]
        out += ["[[points_of_sale]]", f'id = "{pos.id}"', f'name = "{pos.name}"',
                f'group = "{pos.group}"', f'tracked_addresses = ["{pos.tracked_address}"]',
                f"mailboxes = [{mailboxes}]", ""]
    out += ["# The network's own website: its contact form writes from one address.",
            "[[portals]]", 'id = "site-agence"', 'name = "Site Internet"', 'kind = "website"',
            f'senders = ["{tpl.WEBSITE_SENDER}"]', 'subjects = ["^Demande de contact"]', "",
            "# Addresses reserved for one portal of one agency: the portal writes to them directly."]
    for pos in NETWORK:
        if pos.direct_portal:
            out += ["[[tracked_addresses]]", f'address = "{pos.direct_address}"',
                    f'point_of_sale = "{pos.id}"', f'portal = "{pos.direct_portal}"', ""]
    out += ["# The multi-distribution system sends its tracking copy here; which agencies got each lead",
            "# is in its log (data/sample/distribution/distribution-log.csv).",
            "[[tracked_addresses]]", f'address = "{DISTRIBUTION_ADDRESS}"', "distribution = true", ""]
    return "\n".join(out)


# --------------------------------------------------------------------------- writing files

EML_SHARE = 0.03           # of copies saved as single .eml files rather than in a monthly mbox
CRLF_SHARE = 0.4           # of those .eml files written with CRLF line endings
REEXPORTS_AT_SCALE_1 = 12  # mbox messages also saved as an .eml (to be stored once)


def _detail_cell(value: str | bool | None) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value or ""


def _distribution_point(lead: Lead) -> str:
    """A distribution copy's point of sale in ``messages``: the one it was sent to, if only one."""
    return lead.distribution_points[0] if len(lead.distribution_points) == 1 else ""


def _mbox_entry(copy: Copy) -> bytes:
    """One mboxrd entry: ``From `` line (UTC), body ``From `` lines escaped, blank line after."""
    return logs.mboxrd_entry(copy.raw, copy.received_at)


def _row(source: str, copy: Copy | None, *, message_id: str = "", duplicate_of: str = "",
         quarantine: str = "") -> list[str]:
    if copy is None:
        return [source, message_id, "", "", "", "", "", "", duplicate_of, quarantine, ""]
    month = copy.sent_at.astimezone(PARIS).strftime("%Y-%m") if copy.sent_at else ""
    return [source, copy.message_id, copy.point_of_sale, copy.portal, copy.category, copy.channel,
            copy.lead_id, copy.distribution_points, duplicate_of, quarantine, month]


def _write_tracking(builder: _SampleBuilder, root: Path, data_dir: Path) -> tuple[list[list[str]], dict[str, list[str]]]:
    """Write every copy (mbox, Maildir, .eml) plus re-exports and malformed files; return the
    ground-truth rows and where each trap landed."""
    # one generator drawn in a fixed order (placement, Maildir names, CRLF, re-exports, malformed
    # files): the sample is the same bytes for the same seed
    rng = builder._rng("placement")
    copies = sorted(builder.copies, key=lambda copy: copy.received_at)
    mboxes, maildir, emls = _place(builder, copies, rng)
    files = _TrackingFiles(root, data_dir / "tracking", rng)
    files.tracking.mkdir(parents=True)
    mbox_sources = files.write_mboxes(mboxes)
    files.write_maildir(maildir)
    files.write_emls(emls)
    files.write_reexports(mbox_sources, max(2, round(REEXPORTS_AT_SCALE_1 * builder.scale)))
    files.write_malformed(builder, len(copies))
    return files.rows + sorted(files.file_rows, key=lambda row: row[0]), files.traps


def _place(builder: _SampleBuilder, copies: list[Copy], rng: random.Random
           ) -> tuple[dict[str, list[Copy]], list[Copy], list[tuple[int, Copy]]]:
    """Where each copy is saved: its month's mbox, the Maildir, or a numbered .eml file."""
    maildir_month = builder.months[-2]
    mboxes: dict[str, list[Copy]] = {month: [] for month in builder.months}
    maildir: list[Copy] = []
    emls: list[tuple[int, Copy]] = []
    for number, copy in enumerate(copies, 1):
        month = copy.received_at.strftime("%Y-%m")
        if copy.placement == "mbox":
            mboxes[month].append(copy)
        elif copy.group == MAILDIR_GROUP and month == maildir_month:
            maildir.append(copy)
        elif rng.random() < EML_SHARE:
            emls.append((number, copy))
        else:
            mboxes[month].append(copy)
    return mboxes, maildir, emls


@dataclass
class _TrackingFiles:
    """The files under ``tracking/`` being written, with their ground-truth rows and traps."""

    root: Path
    tracking: Path
    rng: random.Random
    rows: list[list[str]] = field(default_factory=list)
    file_rows: list[list[str]] = field(default_factory=list)
    traps: dict[str, list[str]] = field(default_factory=dict)

    def source(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def _trap(self, copy: Copy, source: str) -> None:
        if copy.trap:
            self.traps.setdefault(copy.trap, []).append(source)

    def write_mboxes(self, mboxes: dict[str, list[Copy]]) -> list[tuple[str, Copy]]:
        mbox_sources: list[tuple[str, Copy]] = []
        for month, items in mboxes.items():
            path = self.tracking / f"{month}.mbox"
            path.write_bytes(b"".join(_mbox_entry(copy) for copy in items))
            for index, copy in enumerate(items, 1):
                mbox_sources.append((f"{self.source(path)}:{index}", copy))
        for name, copy in mbox_sources:
            self.rows.append(_row(name, copy))
            self._trap(copy, name)
        return mbox_sources

    def write_maildir(self, maildir: list[Copy]) -> None:
        rng = self.rng
        box = self.tracking / "maildir"
        for folder in ("cur", "new", "tmp"):
            (box / folder).mkdir(parents=True)
        written: list[tuple[Path, Copy]] = []
        for copy in maildir:
            name = f"{int(copy.received_at.timestamp())}.M{rng.randrange(10**5, 10**6)}P{rng.randrange(1000, 99999)}.mx1"
            if rng.random() < 0.15:  # not yet seen by a mail client
                path = box / "new" / name
            else:
                path = box / "cur" / f"{name}:2,{rng.choice(['S', 'S', 'RS', 'FS'])}"
            path.write_bytes(copy.raw)
            written.append((path, copy))
        # A Maildir's messages are numbered as the contract's PATH:N, in the order of their unique
        # names (the part before ":2,FLAGS", which a mail client never changes).
        written.sort(key=lambda item: (item[0].name.split(":", 1)[0], item[0].name))
        for number, (_path, copy) in enumerate(written, 1):
            self.file_rows.append(_row(f"{self.source(box)}:{number}", copy))
            self._trap(copy, f"{self.source(box)}:{number}")

    def write_emls(self, emls: list[tuple[int, Copy]]) -> None:
        for number, copy in emls:
            path = self.tracking / "eml" / f"{copy.received_at:%Y}" / f"{copy.received_at:%m}" / (
                f"{'lead' if copy.category == 'lead' else 'msg'}-{number:06d}.eml")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(copy.raw.replace(b"\n", b"\r\n") if self.rng.random() < CRLF_SHARE else copy.raw)
            self.file_rows.append(_row(self.source(path), copy))
            self._trap(copy, self.source(path))

    def write_reexports(self, mbox_sources: list[tuple[str, Copy]], wanted: int) -> None:
        """Save ``wanted`` mbox messages (none of them a trap) again as .eml files."""
        plain = [(name, copy) for name, copy in mbox_sources if not copy.trap]
        count = min(len(plain), wanted)
        for name, copy in sorted(self.rng.sample(plain, count), key=lambda item: item[0]):
            path = self.tracking / "eml" / "reexport" / (
                Path(name.rsplit(":", 1)[0]).stem + f"-{name.rsplit(':', 1)[1]}.eml")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(copy.raw)
            self.file_rows.append(_row(self.source(path), copy, duplicate_of=name))

    def write_malformed(self, builder: _SampleBuilder, copies: int) -> None:
        """The files to quarantine, numbered after the ``copies`` copies' .eml numbers."""
        for offset, (reason, data, message_id) in enumerate(_malformed(builder, self.rng)):
            month = builder.months[self.rng.randrange(12)]
            path = self.tracking / "eml" / month[:4] / month[5:] / f"msg-{copies + offset + 1:06d}.eml"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            self.file_rows.append(_row(self.source(path), None, message_id=message_id, quarantine=reason))
            self.traps.setdefault(f"quarantine_{reason}", []).append(self.source(path))


def _malformed(builder: _SampleBuilder, rng: random.Random) -> list[tuple[str, bytes, str]]:
    """Files the product must quarantine: (reason, bytes, Message-ID if any)."""
    files = []
    for _ in range(2):  # a lead saved without its Date and without any Received header
        pos = rng.choice([p for p in NETWORK if p.setup == "cc"])
        listing = rng.choice(builder.listings[pos.id])
        composed = tpl.compose_lead("site-agence", tpl.make_prospect(rng, pos.city), listing, rng, agency=pos.name)
        original = builder.original(composed, [pos.mailbox], [pos.tracked_address],
                                    builder.window_start, {"no_date_no_received"})
        files.append(("no_date", f"Delivered-To: {pos.tracked_address}\n".encode() + original.raw,
                      original.message_id))
    files += [("empty", b"", ""), ("empty", b"", "")]
    files += [("not_an_email", rng.randbytes(rng.randrange(2000, 6000)), ""),
              ("not_an_email", tpl.jpeg_blob(rng, rng.randrange(3000, 8000)), ""),
              ("not_an_email", b"PK\x03\x04\x14\x00\x06\x00" + rng.randbytes(rng.randrange(1500, 4000)), "")]
    return files


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")


GROUND_TRUTH_README = """\
# Ground truth of the sample data set

`messages.csv` has one row per message file occurrence under `data/sample/tracking/`:

- `source`: as the product's `source` column: `PATH:N` for the N-th message (from 1) of an mbox
  or a Maildir (Maildir messages numbered in the order of their unique file names), the file
  path for an `.eml` file; paths are relative to the workspace folder.
- `message_id`: the copy's own Message-ID header, angle brackets included (a forward has a new
  one); empty when the message has none.
- `point_of_sale`: who the copy is attributed to; for a distribution copy, the one point of sale
  it was dispatched to, or empty when it went to several (see next).
- `distribution_points`: for a `distribution` copy, the `;`-separated points of sale it was
  dispatched to (from `distribution/distribution-log.csv`).
- `portal`: portal id of the ORIGINAL sender (after unwrapping a forward); empty when none
  (also for the contacts of a portal the catalogue does not know: category `other`).
- `category`, `channel`: the contract's values.
- `lead_id`: the same for every copy of one lead (two set-ups, or an mbox message re-exported
  as `.eml`); empty for non-leads.
- `duplicate_of`: for a file that repeats an mbox message byte for byte, that message's source.
- `lead_month`: for a lead copy, the month (Europe/Paris) the lead was sent: the month it counts in.

`leads.csv` has one row per lead that reached tracking, with what a reader of its e-mail can
recover about the prospect (all invented): `name`, `email` (`email_is_relay` when it is a
portal's relay address), `phone` in E.164 (empty when the e-mail shows none), and the
`listing_reference` the e-mail gives.
- `expected_quarantine`: `no_date`, `empty` or `not_an_email` for files to quarantine (the other
  columns are then empty). `sample_facts.json` has the counts and where each trap is.

## Coverage: what the points of sale's own mail systems saw

The mail logs under `data/sample/logs/` (Rhône: Postfix; Île-de-France: Microsoft 365 message
trace; Gironde: Google Workspace email log search) hold every message delivered to the mailboxes
of their group, leads and non-leads, whether or not a copy reached tracking. Bouches-du-Rhône
keeps no logs; two of its points of sale exported their own mailbox for the last 3 months
(`data/sample/mailbox/`). The last line of `data/sample/logs/postfix/mail.log` is cut short on
purpose (`sample_facts.json` `logs.postfix.truncated_line`): it is to be quarantined.

- `lead_deliveries.csv`: one row per lead and point of sale whose mailbox received it according
  to that evidence (`evidence`: `postfix`, `m365`, `gws` or `mailbox`): `delivered_at` (UTC),
  `month` (Europe/Paris, by the lead's sent time), `tracked` (`true` when a copy of the lead
  reached tracking for that point of sale) and, when not, the `cause`.
- `coverage.csv`: per point of sale and month with evidence: `expected` (distinct leads its
  mailbox received: a lead dispatched to 3 points of sale counts once for each), `tracked`
  (those that also reached tracking for it), `missing` = expected - tracked.
- `missing.csv`: every lead delivered but not tracked, with its `cause`: `forward_bounced`,
  `cc_absent`, `client_rule_offline`, `never_forwards` or `forwarding_stopped` (the failures
  planted, described in `sample_facts.json` `failures`). Every other point of sale misses none.
- `alerts.csv`: the alerts the product should raise (`silence`, `drop`, `template_spike`,
  `unknown_portal_sender`), each with the month it first applies; no other point of sale
  should raise any.
- `sample_facts.json` `untrusted_strings`: the leads whose subject holds `<script>alert("subject")</script>`
  (after the prospect's name) and whose HTML body holds a `javascript:` link: SeLoger leads with
  an unknown subject in the month of its template spike, so that the subject is among the alert's
  examples. Reports must show them as text, with the prospect's name removed.
- `mailbox_messages.csv`: one row per message of the mailbox exports (`source` as `PATH:N`,
  `message_id`, `point_of_sale`, `lead_id`, `category`). They are a point of sale's own copies,
  not tracking copies: they are not in `messages.csv`.
"""


def _lead_points(copies: list[Copy]) -> set[tuple[str, str]]:
    """(lead id, point of sale) for every lead that reached tracking for that point of sale."""
    return {(copy.lead_id, point) for copy in copies if copy.category == "lead"
            for point in (copy.distribution_points.split(";") if copy.distribution_points else [copy.point_of_sale])}


@dataclass
class _Coverage:
    """The coverage ground truth: per delivered lead, per point of sale and month, the misses."""

    deliveries: list[list[str]]
    coverage: list[list[Any]]       # month, point of sale, expected, tracked, missing
    missing: list[list[str]]


def _coverage_truth(builder: _SampleBuilder, leads: list[Lead]) -> _Coverage:
    """Leads each point of sale received according to its group's logs or its mailbox export,
    and whether they reached tracking for it. Months are the leads' sent months (Europe/Paris)."""
    tracked = _lead_points(builder.copies)
    by_id = {lead.lead_id: lead for lead in leads}
    export_from = logs.month_bounds(builder.months[-MAILBOX_EXPORT_MONTHS])[0]
    periods: set[tuple[str, str]] = set()
    for pos in NETWORK:
        if pos.group in LOG_PLATFORMS:
            periods |= {(pos.id, month) for month in builder.months[pos.opens:]}
        elif pos.id in MAILBOX_EXPORT_POINTS:
            periods |= {(pos.id, month) for month in builder.months[-MAILBOX_EXPORT_MONTHS:]}
    expected: dict[tuple[str, str], list[str]] = {}
    for d in sorted(builder.deliveries, key=lambda d: (d.delivered_at, d.lead_id, d.point_of_sale)):
        if d.category != "lead":
            continue
        if d.group in LOG_PLATFORMS:
            evidence = LOG_PLATFORMS[d.group]
        elif d.point_of_sale in MAILBOX_EXPORT_POINTS and d.delivered_at >= export_from:
            evidence = "mailbox"
        else:
            continue
        lead = by_id[d.lead_id]
        key = (d.lead_id, d.point_of_sale)
        if key in expected:
            continue
        is_tracked = key in tracked
        cause = "" if is_tracked else lead.missing_cause
        if not is_tracked and not cause:
            raise AssertionError(f"lead {d.lead_id} missed by {d.point_of_sale} without a cause")
        month = lead.sent_at.astimezone(PARIS).strftime("%Y-%m")
        expected[key] = [d.lead_id, d.message_id, d.point_of_sale, d.mailboxes[0],
                         d.delivered_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), month, evidence,
                         "true" if is_tracked else "false", cause]
        periods.add((d.point_of_sale, month))
    cells: dict[tuple[str, str], list[int]] = {(month, pos): [0, 0] for pos, month in periods}
    for row in expected.values():
        cell = cells[(row[5], row[2])]
        cell[0] += 1
        cell[1] += row[7] == "true"
    coverage = [[month, pos, n, t, n - t] for (month, pos), (n, t) in sorted(cells.items())]
    missing = sorted(([row[0], row[1], row[2], row[5], row[8]] for row in expected.values() if row[7] == "false"),
                     key=lambda row: (row[3], row[2], row[0]))
    deliveries = sorted(expected.values(), key=lambda row: (row[5], row[2], row[0]))
    return _Coverage(deliveries, coverage, missing)


def _failure_facts(builder: _SampleBuilder, coverage: _Coverage) -> dict[str, Any]:
    """Each planted failure: where, when, and its leads expected / tracked / missing over the
    months it affects."""
    months = builder.months
    window_end = builder.window_end.isoformat()
    periods = {
        "forward_bounced": (builder.bounce_from, builder.bounce_until,
                            "the forward to the tracked address bounces: 552 5.2.2 mailbox full at the tracking side"),
        "cc_absent": (builder.cc_absent_from, builder.window_end,
                      "the portal account was recreated: leboncoin leads no longer carry the tracked address in CC"),
        "client_rule_offline": (builder.window_start, builder.window_end,
                                "Outlook desktop client-side rule: leads arriving on weekends or outside "
                                "08:30-19:00 on weekdays are never forwarded"),
        "never_forwards": (logs.month_bounds(months[POINTS_OF_SALE[FAILURES["never_forwards"]].opens])[0],
                           builder.window_end, "a new agency whose mailbox receives leads; tracking never set up"),
        "forwarding_stopped": (builder.stop_at, builder.window_end, "the forwarding rule stopped"),
    }
    facts = {}
    for kind, pos_id in FAILURES.items():
        start, until, detail = periods[kind]
        first = start.astimezone(PARIS).strftime("%Y-%m")
        last = (until - dt.timedelta(seconds=1)).astimezone(PARIS).strftime("%Y-%m")
        rows = [row for row in coverage.coverage if row[1] == pos_id and first <= row[0] <= last]
        facts[kind] = {
            "point_of_sale": pos_id, "from": start.isoformat(),
            "until": until.isoformat() if until.isoformat() != window_end else None,
            "months": [first, last], "detail": detail,
            "expected": sum(row[2] for row in rows), "tracked": sum(row[3] for row in rows),
            "missing": sum(row[4] for row in rows),
            "missing_with_cause": sum(1 for row in coverage.missing if row[2] == pos_id and row[4] == kind)}
    return facts


def _expected_alerts(builder: _SampleBuilder, leads: list[Lead]) -> list[list[str]]:
    """The alerts the product should raise (``alerts.csv``), each with the month it first applies."""
    months = builder.months
    tracked = _lead_points(builder.copies)
    month_of = {lead.lead_id: lead.sent_at.astimezone(PARIS).strftime("%Y-%m") for lead in leads}
    volume = Counter(month_of[lead_id] for lead_id, pos in tracked if pos == DROP_POINT_OF_SALE)
    before = sum(volume[month] for month in months[-4:-1]) / 3
    drifted = sum(1 for lead in leads if "template_drift" in lead.traps)
    unknown = builder.unknown_portal_copies
    last_copy = max(c.received_at for c in builder.copies if c.point_of_sale == STOPPED_POINT_OF_SALE
                    and c.category == "lead")
    return [
        ["silence", STOPPED_POINT_OF_SALE, "", months[6],
         f"no lead reached tracking since {last_copy.astimezone(PARIS):%Y-%m-%d %H:%M} (forwarding stopped)"],
        ["template_spike", "", "seloger", months[-2],
         f"{drifted} SeLoger leads with an unknown subject in the last two months"],
        ["drop", DROP_POINT_OF_SALE, "", months[-1],
         f"{volume[months[-1]]} leads against {before:.1f} a month over the previous 3 months"],
        ["unknown_portal_sender", "", "", months[-1],
         f"{tpl.UNKNOWN_PORTAL[1]}: {len(unknown)} lead-like messages to "
         f"{len({copy.point_of_sale for copy in unknown})} points of sale"],
    ]


def _write_logs(builder: _SampleBuilder, root: Path, data_dir: Path) -> list[logs.LogFiles]:
    """Write each logged group's mail log under ``data/sample/logs/<platform>/``."""
    written = []
    ordered = sorted(builder.deliveries, key=lambda d: (d.delivered_at, d.message_id, d.mailboxes))
    for group, platform in LOG_PLATFORMS.items():
        deliveries = [d for d in ordered if d.group == group]
        rejections = sorted((r for r in builder.rejections if r.group == group), key=lambda r: (r.at, r.recipient))
        folder, rng = data_dir / "logs" / platform, builder._rng("logs", platform)
        if platform == "postfix":
            healthy = next(pos for pos in NETWORK if pos.group == group and pos.id not in FAILURES.values())
            written.append(logs.write_postfix_logs(folder, deliveries, rejections, builder.months, rng, root=root,
                                                   truncated_mailbox=healthy.mailbox))
        elif platform == "m365":
            written.append(logs.write_m365_logs(folder, deliveries, rejections, builder.months, rng, root=root))
        else:
            written.append(logs.write_gws_logs(folder, deliveries, rejections, builder.months, rng, root=root))
    return written


def _write_mailbox_exports(builder: _SampleBuilder, root: Path) -> list[list[str]]:
    """Write the own mailbox of each ``MAILBOX_EXPORT_POINTS`` point of sale over the last
    months, as the mailbox stored it (``Delivered-To`` on top); return ``mailbox_messages.csv`` rows."""
    start = logs.month_bounds(builder.months[-MAILBOX_EXPORT_MONTHS])[0]
    ids = tpl.Ids(builder._rng("mailbox-export"))
    rows = []
    for pos_id in MAILBOX_EXPORT_POINTS:
        pos = POINTS_OF_SALE[pos_id]
        stored_by = {"google": "google", "microsoft": "microsoft"}.get(pos.provider, "mx3.mail.ovh.net")
        items = sorted((d for d in builder.deliveries if pos.mailbox in d.mailboxes and d.delivered_at >= start),
                       key=lambda d: (d.delivered_at, d.message_id))
        copies = [(d.delivered_at, (f"Delivered-To: {pos.mailbox}\nReturn-Path: <{d.sender}>\n"
                                    + tpl.received(stored_by, pos.mailbox, d.delivered_at, d.client, ids)).encode()
                   + d.raw) for d in items]
        path = root / MAILBOX_EXPORT_DIR / f"{pos.id}.mbox"
        logs.write_mailbox_export(path, copies, builder.window_end)
        source = path.relative_to(root).as_posix()
        rows += [[f"{source}:{number}", d.message_id, pos.id, d.lead_id, d.category]
                 for number, d in enumerate(items, 1)]
    return rows


def _facts(builder: _SampleBuilder, rows: list[list[str]], traps: dict[str, list[str]], seed: int,
           end_month: str) -> dict[str, Any]:
    stored = [row for row in rows if not row[8] and not row[9]]
    lead_points = {(row[6], point) for row in stored if row[6]
                   for point in (row[7].split(";") if row[7] else [row[2]])}
    last_copy = max((c.received_at for c in builder.copies if c.point_of_sale == STOPPED_POINT_OF_SALE),
                    default=None)
    return {
        "seed": seed, "end_month": end_month, "scale": builder.scale, "months": builder.months,
        "points_of_sale": len(NETWORK),
        "messages": len(rows), "stored_messages": len(stored),
        "file_duplicates": sum(1 for row in rows if row[8]),
        "expected_quarantined": sum(1 for row in rows if row[9]),
        "leads": len({row[6] for row in stored if row[6]}),
        "lead_points_of_sale": len(lead_points),
        "by_category": dict(sorted(Counter(row[4] for row in stored).items())),
        "by_channel": dict(sorted(Counter(row[5] for row in stored).items())),
        "leads_by_point_of_sale": dict(sorted(Counter(point for _, point in lead_points).items())),
        "stopped_forwarding": {
            "point_of_sale": STOPPED_POINT_OF_SALE,
            "stopped_on": builder.stop_at.date().isoformat(),
            "stopped_at": builder.stop_at.isoformat(),
            "last_copy_at": last_copy.isoformat() if last_copy else None},
        "maildir": {"group": MAILDIR_GROUP, "month": builder.months[-2]},
        "distribution": {"address": DISTRIBUTION_ADDRESS, "group": DISTRIBUTION_GROUP,
                         "log_rows": len(builder.distribution_log),
                         "copies": sum(1 for row in stored if row[5] == "distribution")},
        "traps": dict(sorted(traps.items())),
    }


def _evidence_facts(builder: _SampleBuilder, log_files: list[logs.LogFiles], mailbox_rows: list[list[str]],
                    coverage: _Coverage, alerts: list[list[str]]) -> dict[str, Any]:
    """What sample_facts.json says about the logs, the mailbox exports, coverage and alerts."""
    groups = {platform: group for group, platform in LOG_PLATFORMS.items()}
    log_facts = {}
    for written in log_files:
        entry = {"group": groups[written.kind], "files": written.files, "lines": written.lines}
        if written.truncated_line:
            entry["truncated_line"] = written.truncated_line
        log_facts[written.kind] = entry
    return {
        "logs": log_facts,
        "mailbox_exports": {"folder": MAILBOX_EXPORT_DIR.as_posix(), "points_of_sale": list(MAILBOX_EXPORT_POINTS),
                            "months": builder.months[-MAILBOX_EXPORT_MONTHS:], "messages": len(mailbox_rows),
                            "leads": sum(1 for row in mailbox_rows if row[3])},
        "coverage": {"expected": sum(row[2] for row in coverage.coverage),
                     "tracked": sum(row[3] for row in coverage.coverage),
                     "missing": sum(row[4] for row in coverage.coverage)},
        "failures": _failure_facts(builder, coverage),
        "alerts": [dict(zip(ALERT_COLUMNS, alert, strict=True)) for alert in alerts],
    }


def _hostile_facts(hostile: list[Lead], rows: list[list[str]]) -> dict[str, Any]:
    """Where the hostile strings are: the leads, their month and every file holding a copy."""
    ids = {lead.lead_id for lead in hostile}
    return {"subject": tpl.HOSTILE_SUBJECT, "link": tpl.HOSTILE_LINK, "portal": "seloger",
            "months": sorted({lead.sent_at.strftime("%Y-%m") for lead in hostile}),
            "leads": sorted(ids),
            "points_of_sale": sorted({lead.point_of_sale.id for lead in hostile}),
            "sources": [row[0] for row in rows if row[6] in ids]}


def write_sample(root: Path, *, end_month: str | None = None, seed: int = 7, scale: float = 1.0) -> SampleInfo:
    """Write the demo data set under ``root/data/sample/`` (and the mailbox exports under
    ``root/data/sample/mailbox/``), its ground truth under ``root/data/sample-truth/`` and its
    config as ``root/emailtrack.toml``.

    The same (end_month, seed, scale) gives byte-identical files (and modification times of the
    logs and mailbox exports). ``end_month`` defaults to the last complete month in
    Europe/Paris. Folders left by an earlier call are replaced; an existing ``data/sample``
    folder it did not write is refused (FileExistsError).
    """
    root = Path(root)
    end_month = end_month or last_complete_month(dt.datetime.now(PARIS))
    months = _months_ending(end_month)
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    data_dir = root / "data" / "sample"
    truth_dir = root / "data" / "sample-truth"
    if data_dir.exists():
        if any(data_dir.iterdir()) and not (truth_dir / "sample_facts.json").exists():
            raise FileExistsError(f"{data_dir} exists and was not written by write_sample")
        shutil.rmtree(data_dir)
    shutil.rmtree(truth_dir, ignore_errors=True)
    shutil.rmtree(root / MAILBOX_EXPORT_DIR, ignore_errors=True)

    builder = _SampleBuilder(months, seed, scale)
    leads = builder.make_leads()
    builder.assign_traps(leads)
    hostile = builder.plant_hostile_strings(leads)
    for lead in leads:
        builder.add_lead_copies(lead, months.index(lead.sent_at.strftime("%Y-%m")))
    builder.add_non_leads(leads)
    builder.add_unknown_portal_contacts()
    builder.add_group_notes()
    builder.add_rejections()

    rows, traps = _write_tracking(builder, root, data_dir)
    log = sorted(builder.distribution_log, key=lambda entry: entry[0])
    _write_csv(data_dir / "distribution" / "distribution-log.csv", DISTRIBUTION_LOG_COLUMNS,
               [[when.isoformat(timespec="seconds"), *rest] for when, *rest in log])
    log_files = _write_logs(builder, root, data_dir)
    mailbox_rows = _write_mailbox_exports(builder, root)

    _write_csv(truth_dir / "messages.csv", GROUND_TRUTH_COLUMNS, rows)
    tracked_leads = {row[6] for row in rows if row[6]}
    _write_csv(truth_dir / "leads.csv", LEAD_DETAIL_COLUMNS,
               [[lead.lead_id] + [_detail_cell(lead.composed.details.get(k)) for k in LEAD_DETAIL_COLUMNS[1:]]
                for lead in leads if lead.lead_id in tracked_leads])
    coverage = _coverage_truth(builder, leads)
    alerts = _expected_alerts(builder, leads)
    _write_csv(truth_dir / "lead_deliveries.csv", DELIVERY_COLUMNS, coverage.deliveries)
    _write_csv(truth_dir / "coverage.csv", COVERAGE_COLUMNS, coverage.coverage)
    _write_csv(truth_dir / "missing.csv", MISSING_COLUMNS, coverage.missing)
    _write_csv(truth_dir / "alerts.csv", ALERT_COLUMNS, alerts)
    _write_csv(truth_dir / "mailbox_messages.csv", MAILBOX_MESSAGE_COLUMNS, mailbox_rows)
    (truth_dir / "README.md").write_text(GROUND_TRUTH_README, encoding="utf-8")
    facts = _facts(builder, rows, traps, seed, end_month)
    facts.update(_evidence_facts(builder, log_files, mailbox_rows, coverage, alerts))
    facts["untrusted_strings"] = _hostile_facts(hostile, rows)
    (truth_dir / "sample_facts.json").write_text(json.dumps(facts, ensure_ascii=False, indent=2) + "\n",
                                                 encoding="utf-8")
    config = config_text()
    (root / "emailtrack.toml").write_text(config, encoding="utf-8")
    return SampleInfo(root, config, data_dir, truth_dir, months, len(rows), facts["expected_quarantined"])
