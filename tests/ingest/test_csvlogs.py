"""Microsoft 365 and Google Workspace exports. No public sample of these files exists: the
fixtures follow the vendors' documented layouts (column names, status words, encodings)."""

from __future__ import annotations

import codecs
import datetime as dt

from emailtrack_analytics.ingest.sources import detect, read_log
from emailtrack_analytics.ingest.sources.logs import BadLine, LogEvent

CLASSIC = '''#TYPE Deserialized.Microsoft.Exchange.Management.FfoReporting.MessageTrace
"Organization","MessageId","Received","SenderAddress","RecipientAddress","Subject","Status","ToIP","FromIP","Size","MessageTraceId"
"contoso.onmicrosoft.com","<lead-9@lead.seloger.com>","3/12/2026 5:04:11 PM","noreply@lead.seloger.com","Paris11@Agence-Exemple.fr","Un acquéreur, intéressé","Delivered",,"203.0.113.25","48213","9d1e"
"contoso.onmicrosoft.com","<lead-9@lead.seloger.com>","3/12/2026 5:04:12 PM","paris11@agence-exemple.fr","paris11@track.example.net","Un acquéreur, intéressé","Failed",,"203.0.113.25","48213","9d1f"
"contoso.onmicrosoft.com","<x@y>","3/12/2026 5:05:00 PM","a@b.fr","team@agence-exemple.fr","Réunion","Expanded",,,"100","9d20"
"contoso.onmicrosoft.com","<x@y>","not a date","a@b.fr","c@agence-exemple.fr","Réunion","Delivered",,,"100","9d21"
'''


def events(tmp_path, name, data: bytes, zone="Europe/Paris"):
    path = tmp_path / name
    path.write_bytes(data)
    kind = detect(path)
    return kind, list(read_log(kind, path, name, zone))


def test_classic_message_trace_with_type_line_quotes_and_us_dates(tmp_path):
    kind, found = events(tmp_path, "trace.csv", CLASSIC.encode("utf-8"))
    assert kind == "m365"
    good = [e for e in found if isinstance(e, LogEvent)]
    assert [(e.recipient, e.status, e.event_time) for e in good] == [
        ("paris11@agence-exemple.fr", "sent", dt.datetime(2026, 3, 12, 17, 4, 11)),   # UTC, whatever the zone
        ("paris11@track.example.net", "bounced", dt.datetime(2026, 3, 12, 17, 4, 12)),
        ("team@agence-exemple.fr", "expanded", dt.datetime(2026, 3, 12, 17, 5))]
    assert good[0].message_id == "lead-9@lead.seloger.com" and good[0].subject == "Un acquéreur, intéressé"
    (bad,) = [e for e in found if isinstance(e, BadLine)]
    assert (bad.source, bad.reason) == ("trace.csv:6", "bad_log_row")


def test_german_excel_export_with_semicolons_and_day_first_dates(tmp_path):
    text = ("Received;SenderAddress;RecipientAddress;Subject;Status;MessageId\n"
            "12.03.2026 17:04:11;noreply@lead.seloger.com;lyon2@agence-exemple.fr;Offre;Delivered;<a@b>\n")
    kind, found = events(tmp_path, "trace-de.csv", text.encode("cp1252"))
    assert kind == "m365"
    assert [(e.event_time, e.status) for e in found] == [(dt.datetime(2026, 3, 12, 17, 4, 11), "sent")]


def test_historical_enhanced_summary_in_utf16(tmp_path):
    text = ("origin_timestamp_utc,sender_address,recipient_status,message_subject,total_bytes,message_id,"
            "network_message_id,original_client_ip,directionality,connector_id,delivery_priority\r\n"
            '2026-03-12T17:04:11.1234567Z,noreply@lead.seloger.com,"paris11@agence-exemple.fr##Receive, Deliver;'
            'paris11@track.example.net##Receive, Fail;spam@x.fr##Receive, FilteredAsSpam",Offre,48213,'
            "<lead-9@lead.seloger.com>,9d1e,203.0.113.25,1,,Normal\r\n")
    for data in (codecs.BOM_UTF16_LE + text.encode("utf-16-le"), text.encode("utf-16-le")):  # with or without BOM
        kind, found = events(tmp_path, "historical.csv", data)
        assert kind == "m365"
        assert [(e.recipient, e.status) for e in found] == [
            ("paris11@agence-exemple.fr", "sent"), ("paris11@track.example.net", "bounced"), ("spam@x.fr", "rejected")]
        assert found[0].event_time == dt.datetime(2026, 3, 12, 17, 4, 11)


def test_extended_report_keeps_deliveries_and_redirect_targets(tmp_path):
    text = ("date_time_utc,event_id,source,recipient_address,related_recipient_address,sender_address,message_id,"
            "message_subject\n"
            "2026-03-12T17:04:10Z,RECEIVE,SMTP,lyon2@agence-exemple.fr,,noreply@lead.seloger.com,<a@b>,Offre\n"
            "2026-03-12T17:04:11Z,DELIVER,STOREDRIVER,lyon2@agence-exemple.fr,,noreply@lead.seloger.com,<a@b>,Offre\n"
            "2026-03-12T17:04:12Z,REDIRECT,AGENT,lyon2@agence-exemple.fr,lyon2@track.example.net,"
            "noreply@lead.seloger.com,<a@b>,Offre\n")
    kind, found = events(tmp_path, "extended.csv", text.encode())
    assert kind == "m365"
    assert [(e.recipient, e.original_recipient, e.status) for e in found] == [
        ("lyon2@agence-exemple.fr", None, "sent"), ("lyon2@track.example.net", "lyon2@agence-exemple.fr", "sent")]


def test_google_workspace_log_search_export(tmp_path):
    text = ("Message ID,Start date,End date,Sender,Message size,Subject,Direction,Attachments,Recipient address,"
            "Event target,Event date,Event status,Event target IP address,Has encryption,Event SMTP reply code,"
            "Event description\n"
            "<lead-7@lead.seloger.com>,2026/03/12 18:04:11,2026/03/12 18:04:12,noreply@lead.seloger.com,4000,Offre,"
            "Received,0,lyon3@agence-exemple.fr,GMAIL_INBOX,2026/03/12 18:04:12,DELIVERED,,TRUE,250,\n"
            "<lead-7@lead.seloger.com>,2026/03/12 18:04:11,2026/03/12 18:04:13,noreply@lead.seloger.com,4000,Offre,"
            "Sent,0,lyon3@track.example.net,SMTP_OUT,2026/03/12 18:04:13,BOUNCED,198.51.100.7,TRUE,552,mailbox full\n")
    kind, found = events(tmp_path, "gws.csv", text.encode())
    assert kind == "gws"
    # Google does not say which zone the export uses: the workspace's (18:04 in Paris is 17:04 UTC)
    assert [(e.recipient, e.status, e.event_time) for e in found] == [
        ("lyon3@agence-exemple.fr", "sent", dt.datetime(2026, 3, 12, 17, 4, 12)),
        ("lyon3@track.example.net", "bounced", dt.datetime(2026, 3, 12, 17, 4, 13))]
    assert "mailbox full" in found[1].detail
