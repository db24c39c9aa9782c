"""Deployment status (issue 15, item 4): set-up modes live and stopped, failed forwards from mail logs
and from reports in a mailbox export, and the deployment's alerts, on real ingests."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from emailtrack_analytics.analytics import deployment
from emailtrack_analytics.api import Analytics
from emailtrack_analytics.config.workspace import open_workspace
from emailtrack_analytics.ingest.pipeline import ingest
from emailtrack_analytics.reports.health import HealthReport
from tests.bounces import m365_ndr
from tests.builders import lead, mbox, outlook_forward

FR_DAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
LATE = {2, 5, 8, 11, 13, 14}   # Paris 11's forwards that waited for the next morning


def cc_lead(n: int, day: dt.date) -> bytes:
    """A SeLoger lead with Lyon 2's tracked address in copy (the portal's second recipient)."""
    return lead(message_id=f"<cc-{n}@lead.seloger.com>", cc="lyon2@track.example.net", body=f"Prospect cc {n}\n",
                date=f"{day:%a, %d %b %Y} 11:00:00 +0100")


def gmail_forward(n: int, day: dt.date) -> bytes:
    """A lead Lyon 2's Gmail forwarding sent on, original kept (DOMAIN.md: X-Forwarded-To/For)."""
    return lead(message_id=f"<gm-{n}@lead.seloger.com>", body=f"Prospect gmail {n}\n",
                date=f"{day:%a, %d %b %Y} 10:00:00 +0100",
                top={"Delivered-To": "lyon2@track.example.net", "X-Forwarded-To": "lyon2@track.example.net",
                     "X-Forwarded-For": "lyon2@agence-exemple.fr lyon2@track.example.net"})


def client_forward(n: int, day: dt.date) -> bytes:
    """Paris 11's Outlook forward: the lead came at 22:00; a late one left at 09:00 the next day."""
    sent = f"{FR_DAYS[day.weekday()]} {day.day} mars 2026 22:00"
    left = (dt.datetime.combine(day, dt.time(9)) + dt.timedelta(days=1) if n in LATE
            else dt.datetime.combine(day, dt.time(22, 3)))
    return outlook_forward(mailbox="paris11@agence-exemple.fr", tracked="paris11@track.example.net",
                           sent=sent, date=f"{left:%a, %d %b %Y %H:%M:%S} +0100", message_id=f"<fw-{n}@agence>",
                           body=f"Prospect forward {n}\nRef. de l'annonce : B{n}\n")


POSTFIX = (
    # Paris 11's forward refused: the tracked address unknown (a typo in the rule)
    "2026-03-12T18:04:11+01:00 mx postfix/cleanup[1]: AAA111: message-id=<b1@x>\n"
    "2026-03-12T18:04:12+01:00 mx postfix/smtp[2]: AAA111: to=<paris11@track.example.net>, "
    "relay=mx.track.example.net[198.51.100.7]:25, delay=1, dsn=5.1.1, status=bounced (host "
    "mx.track.example.net[198.51.100.7] said: 550 5.1.1 <paris11@track.example.net>: Recipient address rejected: "
    "User unknown (in reply to RCPT TO command))\n"
    # deferred, then delivered: nothing lost, no failure
    "2026-03-13T09:00:00+01:00 mx postfix/cleanup[1]: BBB222: message-id=<b2@x>\n"
    "2026-03-13T09:00:01+01:00 mx postfix/smtp[2]: BBB222: to=<paris11@track.example.net>, relay=none, delay=1, "
    "status=deferred (connect to mx.track.example.net[198.51.100.7]:25: Connection timed out)\n"
    "2026-03-13T09:30:01+01:00 mx postfix/smtp[2]: BBB222: to=<paris11@track.example.net>, "
    "relay=mx.track.example.net[198.51.100.7]:25, status=sent (250 2.0.0 Ok)\n")


# Lyon 2's Microsoft 365 message trace detail (Get-MessageTraceDetail | Export-Csv in PowerShell 5.1):
# the forward of a fourth lead refused, the reason in Detail
TRACE_DETAIL = (
    "#TYPE Deserialized.Microsoft.Exchange.Management.FfoReporting.MessageTraceDetail\n"
    '"Organization","MessageId","MessageTraceId","Date","Event","Action","Detail","Data","SenderAddress",'
    '"RecipientAddress"\n'
    '"agence-exemple.onmicrosoft.com","<m-9@lead.seloger.com>","ae5c1219-4c90-41bf-fef5-08d837917e7c",'
    '"2026-03-18T09:15:02.0000000Z","Receive","","Message received by: AM0PR01MB1234.eurprd01.prod.exchangelabs.com",'
    '"","noreply@lead.seloger.com","lyon2@track.example.net"\n'
    '"agence-exemple.onmicrosoft.com","<m-9@lead.seloger.com>","ae5c1219-4c90-41bf-fef5-08d837917e7c",'
    '"2026-03-18T09:15:03.0000000Z","Fail","","Reason: [{LED=550 5.7.520 Access denied, Your organization does '
    'not allow external forwarding. Please contact your administrator for further assistance. AS(7555)};{MSG=};'
    '{FQDN=};{IP=};{LRT=}]","","noreply@lead.seloger.com","lyon2@track.example.net"\n')


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    """Lyon 2: Gmail forwarding in January (then deleted), the tracked address in copy on the
    portal from March; its Microsoft 365 mailbox refused four forwards in March (5.7.520: three
    reports in its mailbox export, one in its message trace detail). Paris 11: an Outlook rule forwarding 15 leads, 6 of them the
    next morning; one forward bounced in the mail log (5.1.1)."""
    from tests.conftest import BASIC_CONFIG, write_config
    tmp = tmp_path_factory.mktemp("deployment")
    folder = tmp / "ws"
    write_config(folder, BASIC_CONFIG)
    jan, mar = dt.date(2026, 1, 5), dt.date(2026, 3, 1)
    tracking = [gmail_forward(n, jan + dt.timedelta(days=2 * n)) for n in range(10)]
    tracking += [cc_lead(n, mar + dt.timedelta(days=n)) for n in range(20)]
    tracking += [client_forward(n, mar + dt.timedelta(days=n)) for n in range(15)]
    (tmp / "tracking.mbox").write_bytes(mbox(*tracking))
    reports = [m365_ndr(lead(message_id=f"<m-{n}@lead.seloger.com>", body=f"Prospect m {n}\n"),
                        failed="lyon2@track.example.net", message_id=f"<ndr-{n}@exchangelabs.com>",
                        date=f"Tue, {10 + n} Mar 2026 09:15:02 +0000") for n in range(3)]
    (tmp / "lyon2-mailbox.mbox").write_bytes(mbox(*reports))
    (tmp / "mail.log").write_text(POSTFIX, encoding="utf-8")
    (tmp / "trace-detail.csv").write_text(TRACE_DETAIL, encoding="utf-8")
    workspace = open_workspace(folder)
    ingest(workspace, [tmp / "tracking.mbox"], role="tracking", workers=1)
    ingest(workspace, [tmp / "lyon2-mailbox.mbox"], role="mailbox", workers=1)
    ingest(workspace, [tmp / "mail.log", tmp / "trace-detail.csv"], workers=1)
    return folder


def status(folder, day=None, point_of_sale=None):
    workspace = open_workspace(folder)
    return deployment.deployment(Analytics(workspace).sql, workspace, day, point_of_sale)


def by_pos(found):
    return {p.point_of_sale: p for p in found.points_of_sale}


def test_each_mode_is_live_or_stopped_with_its_dates(deployed):
    found = status(deployed)
    # the latest evidence: the last CC lead, 20 March 11:00 Paris
    assert found.as_of == dt.datetime(2026, 3, 20, 10, 0)
    lyon = by_pos(found)["lyon-2"]
    modes = {m.channel: m for m in lyon.modes}
    assert lyon.state == "live" and set(modes) == {"cc", "redirect"}
    cc, gmail = modes["cc"], modes["redirect"]
    assert (cc.live, cc.recent_copies, cc.copies, cc.since.date()) == (True, 20, 20, dt.date(2026, 3, 1))
    assert (gmail.live, gmail.how, gmail.copies, gmail.last_copy.date()) == (False, "x_forwarded", 10,
                                                                           dt.date(2026, 1, 23))
    assert "Gmail" in gmail.label
    stopped = [a for a in lyon.alerts if a.kind == "mode_stopped"]
    assert len(stopped) == 1 and "no lead copy for 56 days, the last on 2026-01-23" in stopped[0].detail


def test_as_of_an_earlier_day_the_stopped_mode_was_live(deployed):
    lyon = by_pos(status(deployed, dt.date(2026, 1, 31)))["lyon-2"]
    assert [(m.channel, m.live, m.recent_copies) for m in lyon.modes] == [("redirect", True, 10)]
    assert lyon.failures == [] and lyon.alerts == []


def test_microsoft_365_refusals_in_a_mailbox_export_and_a_trace_are_failed_forwards(deployed):
    lyon = by_pos(status(deployed))["lyon-2"]
    (failure,) = lyon.failures
    assert (failure.tracked_address, failure.code, failure.status, failure.count, failure.recent,
            failure.evidence) == ("lyon2@track.example.net", "5.7.520", "bounced", 4, 4, ("log", "report"))
    assert "Microsoft 365 blocks automatic forwarding" in failure.meaning
    assert any(a.kind == "forward_failures" and "5.7.520" in a.detail for a in lyon.alerts)
    # the reports return a lead: the report is no lead, and Lyon 2 has its 30 leads, not 33
    data = Analytics(open_workspace(deployed))
    assert int(data.sql("SELECT count(*) AS n FROM leads WHERE point_of_sale = 'lyon-2'")["n"].iloc[0]) == 30
    categories = data.sql("SELECT category FROM messages WHERE role = 'mailbox'")["category"]
    assert len(categories) == 3 and "lead" not in set(categories)


def test_a_log_bounce_is_a_failure_and_a_retried_deferral_is_not(deployed):
    paris = by_pos(status(deployed))["paris-11"]
    assert [(f.code, f.status, f.count, f.evidence) for f in paris.failures] == [("5.1.1", "bounced", 1, ("log",))]
    assert "does not exist" in paris.failures[0].meaning


def test_forwards_leaving_hours_after_the_lead_point_at_a_client_side_rule(deployed):
    paris = by_pos(status(deployed))["paris-11"]
    (mode,) = paris.modes
    assert (mode.channel, mode.how, mode.run_copies, mode.late_copies) == ("forward", "inline", 15, len(LATE))
    (alert,) = [a for a in paris.alerts if a.kind == "client_rule_delays"]
    assert f"{len(LATE)} of 15 copies" in alert.detail and "Outlook for Windows" in alert.detail
    # Lyon 2's copies are on time: no such alert
    assert not [a for a in by_pos(status(deployed))["lyon-2"].alerts if a.kind == "client_rule_delays"]


def test_status_deployment_on_the_command_line(deployed, cli):
    result = cli("--workspace", deployed, "status", "--deployment")
    assert result.code == 0, result.err
    assert "2 of 2 points of sale live" in result.out
    assert "lyon-2 (Agence Lyon 2e): LIVE" in result.out
    assert "stopped redirect" in result.out and "5.7.520" in result.out
    as_json = cli("--workspace", deployed, "status", "--deployment", "--point-of-sale", "paris-11", "--format", "json")
    assert as_json.code == 0, as_json.err
    parsed = json.loads(as_json.out)
    (paris,) = parsed["points_of_sale"]
    assert (paris["point_of_sale"], paris["modes"][0]["late_copies"], paris["failures"][0]["code"]) == (
        "paris-11", len(LATE), "5.1.1")
    assert parsed["as_of"] == "2026-03-20T10:00:00+00:00"
    assert cli("--workspace", deployed, "status", "--deployment", "--point-of-sale", "nope").code == 2
    assert cli("--workspace", deployed, "status", "--as-of", "2026-03-01").code == 2  # needs --deployment
    assert cli("--workspace", deployed, "status", "--deployment", "--as-of", "March").code == 2


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_health_report_has_the_deployment_section(deployed, language):
    report = HealthReport(Analytics(open_workspace(deployed)), "2026-03", language=language)
    page = str(report.deployment_section())
    assert "Agence Lyon 2e" in page and "Agence Paris 11e" in page and "5.7.520" in page
    if language == "fr":
        assert "Mise en place du suivi" in page and "bloque le transfert automatique" in page
        assert "6 des 15 transferts" in page
    else:
        assert "Tracking set-up" in page and "Microsoft 365 blocks automatic forwarding" in page
        assert "6 of the 15 forwards" in page
    # a report on January judges as of its last day: Gmail forwarding live, no failure yet
    january = HealthReport(Analytics(open_workspace(deployed)), "2026-01", language=language)
    lyon = by_pos(january.deployment)["lyon-2"]
    assert [(m.channel, m.live) for m in lyon.modes] == [("redirect", True)] and not lyon.failures
