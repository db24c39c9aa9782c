"""What emailtrack writes: only where it should, and readable by the owner only."""

from __future__ import annotations

import os
import stat
from email.message import EmailMessage

from tests.conftest import run_cli


def hostile_attachment() -> bytes:
    message = EmailMessage()
    message["From"] = "noreply@lead.seloger.com"
    message["To"] = "lyon2@track.example.net"
    message["Subject"] = "Un acquéreur est intéressé par un de vos biens"
    message["Message-ID"] = "<path-1@lead.seloger.com>"
    message["Date"] = "Thu, 12 Mar 2026 18:04:11 +0100"
    message.set_content("Jean Dupont s'intéresse à ce bien.\n")
    for name in ("../../../../pwned-by-email.txt", "/tmp/pwned-by-email-abs.txt", "..\\..\\pwned.txt"):
        message.add_attachment(b"owned", maintype="application", subtype="octet-stream", filename=name)
    return message.as_bytes()


def files_under(folder):
    return {p for p in folder.rglob("*")}


def test_nothing_is_written_to_a_path_taken_from_an_email(workspace_dir, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "lead.eml").write_bytes(hostile_attachment())
    before = files_under(tmp_path)
    assert run_cli("--workspace", workspace_dir, "ingest", tmp_path / "in").code == 0
    assert run_cli("--workspace", workspace_dir, "report", "monthly", "--month", "2026-03").code == 0
    created = files_under(tmp_path) - before
    names = {p.name for p in created}
    assert not any("pwned" in n for n in names)
    assert not os.path.exists("/tmp/pwned-by-email-abs.txt")
    # only the database, its lock and the reports: nothing named after the message
    assert all(p.is_relative_to(workspace_dir / "data") or p.is_relative_to(workspace_dir / "reports")
               for p in created), sorted(map(str, created))


def test_everything_written_is_readable_by_the_owner_only(workspace_dir, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "lead.eml").write_bytes(hostile_attachment())
    assert run_cli("--workspace", workspace_dir, "ingest", tmp_path / "in").code == 0
    assert run_cli("--workspace", workspace_dir, "report", "monthly", "--month", "2026-03").code == 0
    for table, fmt in (("contacts", "csv"), ("messages", "json"), ("leads", "parquet")):
        assert run_cli("--workspace", workspace_dir, "export", table, "--format", fmt, "--personal-data",
                       "-o", tmp_path / "out" / f"{table}.{fmt}").code == 0
    assert run_cli("--workspace", workspace_dir, "export", "messages", "--format", "parquet",
                   "--partition", "month", "-o", tmp_path / "out" / "parts").code == 0
    written = [p for p in files_under(workspace_dir / "data") | files_under(workspace_dir / "reports")
               | files_under(tmp_path / "out") if p.is_file()]
    assert any(p.name.endswith(".wal") or p.name.endswith(".duckdb") for p in written)
    assert len([p for p in written if p.suffix in (".csv", ".json", ".parquet")]) >= 4
    loose = [str(p) for p in written if stat.S_IMODE(p.stat().st_mode) & 0o077]
    assert loose == []
    assert stat.S_IMODE((workspace_dir / "data").stat().st_mode) & 0o077 == 0
