"""GDPR: erase one person everywhere (``forget``) and enforce retention (``purge``).

Both keep the counts: a lead that was counted stays counted (its attribution, month, portal and
point of sale are not personal data), while everything that identifies the prospect goes: the
stored bytes, the extracted details, the body, the sender's name, the person's addresses and the
text of subjects that quote them. Then the database file is rewritten so that erased values do
not survive in free blocks. See docs/privacy.md.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from ..config.months import shift_month
from ..config.workspace import Workspace
from ..errors import UsageError
from ..ingest.parsing.details import normalise_phone
from ..ingest.parsing.worker import decompress
from ..store.db import arrow_batches, connect, utcnow, writer_lock

ERASED = "erased"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SEPARATORS = r"[\s.\-()/]*"

# columns of stored_messages that hold addresses, plain or in lists
_ADDRESS_COLUMNS = ("sender", "copy_sender", "resent_from")
_ADDRESS_LISTS = ("to_addrs", "cc_addrs", "original_to", "original_cc", "envelope_to", "forwarded_to",
                  "resent_to")


@dataclass
class ErasureResult:
    action: str
    scope: str
    counts: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False
    size_before: int = 0
    size_after: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def line(self) -> str:
        verb = "would erase" if self.dry_run else "erased"
        parts = ", ".join(f"{n} {table}" for table, n in self.counts.items() if n) or "nothing"
        tail = "" if self.dry_run else f"; database rewritten ({_mb(self.size_before)} -> {_mb(self.size_after)})"
        return f"{self.action} {self.scope}: {verb} {parts}{tail}"


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


class Person:
    """What identifies the person to forget: an address or a phone number, as matchers."""

    def __init__(self, email: str | None, phone: str | None):
        if bool(email) == bool(phone):
            raise UsageError("forget needs exactly one of --email ADDRESS or --phone NUMBER")
        if email:
            email = email.strip().lower()
            if not _EMAIL.match(email):
                raise UsageError(f"{email!r} is not an email address")
            self.kind, self.value = "email", email
            self.pattern = re.compile(re.escape(email.encode()), re.I)
        else:
            number = normalise_phone(phone)
            if number is None:
                raise UsageError(f"{phone!r} is not a phone number (e.g. +33612345678 or 06 12 34 56 78)")
            self.kind, self.value = "phone", number
            self.pattern = re.compile(_phone_pattern(number).encode())
        self.text_pattern = self.pattern.pattern.decode()

    def found_in(self, raw: bytes) -> bool:
        return bool(self.pattern.search(raw))


def _phone_pattern(e164: str) -> str:
    """The number as people write it: +33 6 12 34 56 78, 0033..., 06.12.34.56.78, (0)6..."""
    digits = e164[1:]
    spread = lambda ds: _SEPARATORS.join(ds)  # noqa: E731
    forms = [r"(?:\+|00)" + _SEPARATORS + spread(digits)]
    if digits.startswith("33"):
        national = digits[2:]
        forms.append(r"(?:\+|00)" + _SEPARATORS + "33" + _SEPARATORS + r"\(0\)" + _SEPARATORS + spread(national))
        forms.append("0" + _SEPARATORS + spread(national))
    return r"(?<!\d)(?:" + "|".join(forms) + r")(?!\d)"


def forget(workspace: Workspace, *, email: str | None = None, phone: str | None = None,
           dry_run: bool = False) -> ErasureResult:
    """Erase one person's data everywhere; returns how many records of each table were erased."""
    person = Person(email, phone)

    def find(con) -> tuple[str, Person]:
        pseudonym = con.execute("SELECT pseudonym(?)", [person.value]).fetchone()[0]
        _find_person(con, person)
        return f"{person.kind} {pseudonym}", person

    def remember(con, scope: str) -> None:
        con.execute("INSERT OR IGNORE INTO forgotten VALUES (?, ?, ?)",
                    [scope.split(" ", 1)[1], person.kind, utcnow()])

    return _erasure(workspace, "forget", find, dry_run, remember)


def purge(workspace: Workspace, *, before: str | None = None, dry_run: bool = False,
          today: dt.date | None = None) -> ErasureResult:
    """Erase the personal data of everything dated before the month ``before`` (default: the
    workspace's ``retention_months`` back from this month)."""
    if before and not re.match(r"^\d{4}-(0[1-9]|1[0-2])$", before):
        raise UsageError(f"--before must be YYYY-MM, not {before!r}")
    before = before or _retention_start(workspace, today)

    def find(con) -> tuple[str, None]:
        _find_before(con, workspace.timezone, before)
        return f"before {before}", None

    return _erasure(workspace, "purge", find, dry_run)


def _erasure(workspace: Workspace, action: str, find, dry_run: bool, after=None) -> ErasureResult:
    """Mark (``find``), then count or erase, in one transaction; then rewrite the file."""
    with writer_lock(workspace.database, f"emailtrack {action}"):
        con = connect(workspace.database)
        try:
            scope, person = find(con)
            result = ErasureResult(action, scope, dry_run=dry_run)
            if dry_run:
                result.counts = _count_marked(con)
                con.execute("ROLLBACK")
                return result
            result.counts = _erase_marked(con, person)
            if after:
                after(con, scope)
            _audit(con, result)
            con.execute("COMMIT")
        except BaseException:
            _rollback(con)
            raise
        finally:
            con.close()
        _compact(workspace.database, result)
    return result


def erase_forgotten(con) -> int:
    """Erase again what a later ingest brought back of people already forgotten (matched by
    pseudonym on the extracted details and the sender; stored bytes are not scanned here)."""
    if con.execute("SELECT count(*) FROM forgotten").fetchone()[0] == 0:
        return 0
    _temp_tables(con)
    con.execute("""
        INSERT INTO _erase_messages
        SELECT DISTINCT d.message_key FROM lead_details AS d
        WHERE pseudonym(d.email) IN (SELECT pseudonym FROM forgotten)
           OR pseudonym(d.phone) IN (SELECT pseudonym FROM forgotten)
        UNION
        SELECT m.message_key FROM stored_messages AS m
        WHERE m.body_text IS NOT NULL AND pseudonym(m.sender) IN (SELECT pseudonym FROM forgotten)""")
    found = con.execute("SELECT count(*) FROM _erase_messages").fetchone()[0]
    if found:
        _erase_marked(con, None, scrub_logs=False)
    for table in ("_erase_messages", "_erase_quarantine", "_erase_logs", "_erase_distribution"):
        con.execute(f"DROP TABLE {table}")
    return found


# --- finding what to erase ---------------------------------------------------------------

def _temp_tables(con) -> None:
    con.execute("CREATE OR REPLACE TEMP TABLE _erase_messages (message_key VARCHAR PRIMARY KEY)")
    con.execute("CREATE OR REPLACE TEMP TABLE _erase_quarantine (id BIGINT PRIMARY KEY)")
    con.execute("CREATE OR REPLACE TEMP TABLE _erase_logs (row_key VARCHAR PRIMARY KEY)")
    con.execute("CREATE OR REPLACE TEMP TABLE _erase_distribution (row_key VARCHAR PRIMARY KEY)")


def _find_person(con, person: Person) -> None:
    _temp_tables(con)
    con.execute("BEGIN TRANSACTION")
    if person.kind == "email":
        value = person.value
        lists = " OR ".join(f"list_contains({c}, $v)" for c in _ADDRESS_LISTS)
        singles = " OR ".join(f"lower({c}) = $v" for c in _ADDRESS_COLUMNS)
        con.execute(f"""
            INSERT OR IGNORE INTO _erase_messages
            SELECT message_key FROM lead_details WHERE lower(email) = $v
            UNION SELECT message_key FROM stored_messages
            WHERE {singles} OR {lists}
               OR contains(lower(subject), $v) OR contains(lower(copy_subject), $v)
               OR contains(lower(body_text), $v)""", {"v": value})
        con.execute("""INSERT OR IGNORE INTO _erase_logs SELECT row_key FROM log_events
                       WHERE lower(sender) = $v OR lower(recipient) = $v OR lower(original_recipient) = $v
                          OR contains(lower(subject), $v) OR contains(lower(detail), $v)""", {"v": value})
        con.execute("""INSERT OR IGNORE INTO _erase_distribution SELECT row_key FROM distribution_log
                       WHERE lower(sender) = $v OR contains(lower(subject), $v)""", {"v": value})
    else:
        pattern = person.text_pattern.replace("(?<!\\d)", "(^|[^0-9])").replace("(?!\\d)", "([^0-9]|$)")
        con.execute("""
            INSERT OR IGNORE INTO _erase_messages
            SELECT message_key FROM lead_details WHERE phone = $v
            UNION SELECT message_key FROM stored_messages
            WHERE regexp_matches(coalesce(subject, '') || ' ' || coalesce(body_text, ''), $p)""",
                    {"v": person.value, "p": pattern})
        con.execute("""INSERT OR IGNORE INTO _erase_logs SELECT row_key FROM log_events
                       WHERE regexp_matches(coalesce(subject, '') || ' ' || coalesce(detail, ''), $p)""",
                    {"p": pattern})
        con.execute("""INSERT OR IGNORE INTO _erase_distribution SELECT row_key FROM distribution_log
                       WHERE regexp_matches(coalesce(subject, ''), $p)""", {"p": pattern})
    # the stored bytes: headers the parser did not keep (Reply-To...), attachments' text
    _scan(con, "SELECT message_key, raw_zlib FROM raw_messages", person, "_erase_messages")
    _scan(con, "SELECT rowid, raw_zlib FROM quarantine_items WHERE raw_zlib IS NOT NULL",
          person, "_erase_quarantine")


def _scan(con, query: str, person: Person, into: str) -> None:
    """Decompress and search every stored blob of ``query`` (key, blob) for the person."""
    marked = {r[0] for r in con.execute(f"SELECT * FROM {into}").fetchall()}
    found = []
    # a second connection streams the blobs (temp tables belong to the first one)
    for batch in arrow_batches(con.cursor(), query, 2_000):
        keys, blobs = batch.column(0).to_pylist(), batch.column(1).to_pylist()
        for key, blob in zip(keys, blobs):
            if key in marked:
                continue
            try:
                raw = decompress(blob)
            except Exception:  # a damaged blob cannot hide anything readable either
                continue
            if person.found_in(raw):
                found.append(key)
    if found:
        con.execute(f"INSERT OR IGNORE INTO {into} SELECT unnest(?)", [found])


def _find_before(con, timezone: str, before: str) -> None:
    _temp_tables(con)
    con.execute("BEGIN TRANSACTION")
    local_month = "strftime(timezone($tz, timezone('UTC', {column})), '%Y-%m') < $m"
    params = {"tz": timezone, "m": before}
    con.execute("INSERT INTO _erase_messages SELECT message_key FROM stored_messages WHERE "
                + local_month.format(column="received_at"), params)
    con.execute("INSERT INTO _erase_logs SELECT row_key FROM log_events WHERE "
                + local_month.format(column="event_time"), params)
    con.execute("INSERT INTO _erase_distribution SELECT row_key FROM distribution_log WHERE "
                + local_month.format(column="received_at"), params)
    con.execute("INSERT INTO _erase_quarantine SELECT rowid FROM quarantine_items WHERE raw_zlib IS NOT NULL AND "
                + local_month.format(column="quarantined_at"), params)


def _count_marked(con) -> dict[str, int]:
    def count(sql: str) -> int:
        return con.execute(sql).fetchone()[0]
    return {
        # copies that still hold something personal (an erased copy is not counted twice)
        "messages": count("SELECT count(*) FROM stored_messages JOIN _erase_messages USING (message_key) "
                          "WHERE body_text IS NOT NULL OR sender_name IS NOT NULL "
                          "OR message_key IN (SELECT message_key FROM raw_messages) "
                          "OR message_key IN (SELECT message_key FROM lead_details)"),
        "raw copies": count("SELECT count(*) FROM raw_messages JOIN _erase_messages USING (message_key)"),
        "lead details": count("SELECT count(*) FROM lead_details JOIN _erase_messages USING (message_key)"),
        "log lines": count("SELECT count(*) FROM _erase_logs"),
        "distribution rows": count("SELECT count(*) FROM _erase_distribution"),
        "quarantined items": count("SELECT count(*) FROM _erase_quarantine"),
    }


# --- erasing -------------------------------------------------------------------------------

def _erase_marked(con, person: Person | None, *, scrub_logs: bool = True) -> dict[str, int]:
    """Erase the marked rows; returns the rows erased per table."""
    counts = _count_marked(con)
    # the workspace's addresses as a list: DuckDB lambdas cannot hold the subquery of is_public_address
    public = [r[0] for r in con.execute("SELECT address FROM addresses").fetchall()]
    erased_address = ("CASE WHEN {c} IS NULL OR is_role_address(lower({c})) OR list_contains($public, lower({c})) "
                      "THEN {c} ELSE '" + ERASED + "@' || split_part({c}, '@', 2) END")
    single = ", ".join(f"{c} = {erased_address.format(c=c)}" for c in _ADDRESS_COLUMNS)
    lists = ", ".join(f"{c} = list_transform({c}, lambda x: {erased_address.format(c='x')})" for c in _ADDRESS_LISTS)
    # subjects keep their template (attribution reads them again when the config changes) but
    # lose the details they quote
    scrub = ("without_details({c}, d.name, d.email, d.phone)")
    con.execute("CREATE OR REPLACE TEMP TABLE _erase_details AS SELECT d.* FROM lead_details AS d "
                "JOIN _erase_messages USING (message_key)")
    con.execute(f"""
        UPDATE stored_messages AS m SET
            {single}, {lists},
            sender_name = NULL, body_text = NULL, from_line = NULL,
            subject = {scrub.format(c='m.subject')},
            copy_subject = {scrub.format(c='m.copy_subject')}
        FROM _erase_messages AS e LEFT JOIN _erase_details AS d USING (message_key)
        WHERE m.message_key = e.message_key""", {"public": public})
    if person is not None and person.kind == "email":
        for column in ("subject", "copy_subject"):
            con.execute(f"UPDATE stored_messages SET {column} = regexp_replace({column}, $p, '[{ERASED}]', 'gi') "
                        "WHERE message_key IN (SELECT message_key FROM _erase_messages)",
                        {"p": re.escape(person.value)})
    con.execute("DELETE FROM raw_messages WHERE message_key IN (SELECT message_key FROM _erase_messages)")
    con.execute("DELETE FROM lead_details WHERE message_key IN (SELECT message_key FROM _erase_messages)")
    con.execute("UPDATE quarantine_items SET raw_zlib = NULL WHERE rowid IN (SELECT id FROM _erase_quarantine)")
    # log lines of the erased messages carry the prospect's relay address too
    con.execute("""INSERT OR IGNORE INTO _erase_logs SELECT l.row_key FROM log_events AS l
                   WHERE l.message_id IN (SELECT m.message_id FROM stored_messages AS m
                                          JOIN _erase_messages USING (message_key)
                                          WHERE m.message_id IS NOT NULL)""")
    counts["log lines"] = con.execute("SELECT count(*) FROM _erase_logs").fetchone()[0]
    if scrub_logs:
        for table, marks, columns in (("log_events", "_erase_logs", ("sender", "recipient", "original_recipient")),
                                      ("distribution_log", "_erase_distribution", ("sender",))):
            sets = ", ".join(f"{c} = {erased_address.format(c=c)}" for c in columns)
            con.execute(f"UPDATE {table} SET {sets}, subject = NULL"
                        + (", detail = NULL" if table == "log_events" else "")
                        + f" WHERE row_key IN (SELECT row_key FROM {marks})", {"public": public})
    con.execute("DROP TABLE _erase_details")
    return counts


def _audit(con, result: ErasureResult) -> None:
    con.execute("INSERT INTO erasures VALUES (?, ?, ?, ?)",
                [utcnow(), result.action, result.scope, json.dumps(result.counts)])


def _rollback(con) -> None:
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:
        pass


def _compact(database: Path, result: ErasureResult) -> None:
    """Rewrite the database file: deleted and overwritten values must not linger in free blocks."""
    database = Path(database)
    result.size_before = database.stat().st_size
    fresh = database.with_name(database.name + ".compact")
    fresh.unlink(missing_ok=True)
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{_quote(database)}' AS old (READ_ONLY)")
        con.execute(f"ATTACH '{_quote(fresh)}' AS fresh")
        con.execute("COPY FROM DATABASE old TO fresh")
        con.execute("DETACH fresh")
        con.execute("DETACH old")
    finally:
        con.close()
    os.chmod(fresh, 0o600)
    os.replace(fresh, database)
    Path(str(database) + ".wal").unlink(missing_ok=True)
    result.size_after = database.stat().st_size


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")


def _retention_start(workspace: Workspace, today: dt.date | None) -> str:
    if not workspace.retention_months:
        raise UsageError("purge needs --before YYYY-MM, or retention_months in [workspace] of "
                         f"{workspace.config_path}")
    today = today or dt.datetime.now(workspace.tz).date()
    return shift_month(today.strftime("%Y-%m"), -workspace.retention_months)
