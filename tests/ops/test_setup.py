"""``emailtrack setup``: the set-up kit of a point of sale, each file checked by what reads it
(Gmail's Atom format, Pigeonhole's sievec and sieve-test, headless Chromium, a Markdown renderer)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from emailtrack_analytics.config.catalogue import merged_portals
from emailtrack_analytics.config.workspace import open_workspace
from tests.builders import lead
from tests.conftest import BASIC_CONFIG, run_cli, write_config

ATOM = "{http://www.w3.org/2005/Atom}"
APPS = "{http://schemas.google.com/apps/2006}"
FILES = {"index.html", "index.md", "gmail-filters.xml", "outlook-rule.ps1", "forward.sieve"}
SIEVEC, SIEVE_TEST = shutil.which("sievec"), shutil.which("sieve-test")
needs_sieve = pytest.mark.skipif(not (SIEVEC and SIEVE_TEST),
                                 reason="Pigeonhole's sievec/sieve-test not installed (apt-get install dovecot-sieve)")

CONFIG = '[tracking]\ndomain = "track.example.net"\n' + BASIC_CONFIG + '''
[[points_of_sale]]
id = "nice"
name = "Agence Nice"
'''
HOSTILE_NAME = ('Agence "Lyon" <script>alert(1)</script> C:\\new\nline\'; Remove-Item -Recurse C:\\ # '
                '**x** `y` [z](javascript:alert(2)) &amp;')
# senders a workspace may write (no space, one @) that break out of a naive string in each format
HOSTILE_SENDERS = ('x"];discard;#\'$(remove-item)<b>\\@evil.example.fr', "y\u2019;$(remove-item)\u2018@evil.example.fr")


def hostile_config() -> str:
    return CONFIG.replace('name = "Agence Lyon 2e"', f"name = {json.dumps(HOSTILE_NAME)}").replace(
        'senders = ["formulaire@agence-exemple.fr"]',
        f"senders = {json.dumps(['formulaire@agence-exemple.fr', *HOSTILE_SENDERS], ensure_ascii=False)}")


@pytest.fixture
def ws(tmp_path):
    folder = tmp_path / "ws"
    write_config(folder, CONFIG)
    return folder


@pytest.fixture
def hostile(tmp_path):
    folder = tmp_path / "hostile"
    write_config(folder, hostile_config())
    result = run_cli("-w", folder, "setup", "--point-of-sale", "lyon-2", "--language", "en")
    assert result.code == 0, result.err
    return folder / "setup" / "lyon-2"


# --------------------------------------------------------------------------- the command

def test_every_point_of_sale_with_a_tracked_address_gets_its_folder(ws):
    result = run_cli("-w", ws, "setup")
    assert result.code == 0, result.err
    assert result.out.split() == [str(ws / "setup" / p / "index.html") for p in ("lyon-2", "paris-11")]
    for point in ("lyon-2", "paris-11"):
        assert {p.name for p in (ws / "setup" / point).iterdir()} == FILES
    assert not (ws / "setup" / "nice").exists()
    assert "no kit for nice: no tracked address" in result.err


def test_one_point_of_sale_into_another_folder_in_each_language(ws, tmp_path):
    for language, title in (("fr", "Mise en place du suivi des contacts : Agence Paris 11e"),
                            ("en", "Setting up lead tracking: Agence Paris 11e")):
        out = tmp_path / language
        result = run_cli("-w", ws, "setup", "--point-of-sale", "paris-11", "--out", out, "--language", language)
        assert result.code == 0, result.err
        assert [p.name for p in out.iterdir()] == ["paris-11"]
        assert (out / "paris-11" / "index.md").read_text().startswith(f"# {title}\n")
        assert f'<html lang="{language}">' in (out / "paris-11" / "index.html").read_text()


@pytest.mark.parametrize("point, message", [
    ("marseille", "unknown point of sale 'marseille' (known: lyon-2, paris-11, nice)"),
    ("nice", "point of sale 'nice' has no tracked address: issue one with "
             "'emailtrack addresses add --point-of-sale nice'"),
])
def test_refusals(ws, point, message):
    result = run_cli("-w", ws, "setup", "--point-of-sale", point)
    assert (result.code, result.err.strip()) == (2, f"emailtrack: error: {message}")
    assert not (ws / "setup").exists()


def test_the_page_gives_the_addresses_and_every_configuration(ws):
    run_cli("-w", ws, "setup", "--point-of-sale", "lyon-2", "--language", "en")
    page = (ws / "setup" / "lyon-2" / "index.md").read_text()
    headings = re.findall(r"^## (.+)$", page, re.M)
    assert headings == ["Tracked addresses", "Senders to forward", "Files in this folder",
                        "Gmail and Google Workspace", "Outlook on the web and Microsoft 365", "Outlook for Windows",
                        "Apple Mail", "Sieve (Dovecot hosts, many hosting offers)", "Copy on the portal",
                        "Multi-distribution system"]
    assert "- For every portal: `lyon2@track.example.net`" in page
    assert "- For SeLoger only: `lyon2-seloger@track.example.net`" in page
    assert "Gmail sends a confirmation message with a code" in page
    assert "5.7.520" in page and "runs only while Outlook is open" in page and "**Redirect Message**" in page
    # the catalogue has no fact about a second recipient on a portal: the page says so
    assert "catalogue does not record which portals offer a second recipient" in page
    assert "`reseau@track.example.net`" in page and "emailtrack ingest --kind distribution" in page


# --------------------------------------------------------------------------- gmail-filters.xml

def gmail_filters(path: Path) -> list[dict[str, str]]:
    feed = ET.parse(path).getroot()
    assert feed.tag == f"{ATOM}feed"
    filters = []
    for entry in feed.findall(f"{ATOM}entry"):
        assert entry.find(f"{ATOM}category").get("term") == "filter"
        filters.append({p.get("name"): p.get("value") for p in entry.findall(f"{APPS}property")})
    return filters


def test_gmail_filters_forward_each_portals_senders_to_its_tracked_address(ws):
    run_cli("-w", ws, "setup", "--point-of-sale", "lyon-2")
    filters = gmail_filters(ws / "setup" / "lyon-2" / "gmail-filters.xml")
    expected = []
    for portal in merged_portals(open_workspace(ws).portals):
        if portal.senders:
            target = "lyon2-seloger@track.example.net" if portal.id == "seloger" else "lyon2@track.example.net"
            # "@domain" (the domain and its subdomains) is written as the domain: Gmail matches it in any sender
            expected.append(([s.removeprefix("@") for s in portal.senders], target))
    assert [(f["from"].split(" OR "), f["forwardTo"]) for f in filters] == expected
    assert (["formulaire@agence-exemple.fr"], "lyon2@track.example.net") in expected   # the workspace's own portal


# --------------------------------------------------------------------------- forward.sieve

def sieve_test(script: Path, message: bytes, *trace: str) -> str:
    """What Pigeonhole's sieve-test says the script does with ``message`` (after its trace
    of the matches, with ``trace``)."""
    # as root, sieve-test drops its privileges to mail_uid: the files must be readable by it
    with tempfile.TemporaryDirectory() as folder:
        os.chmod(folder, 0o755)
        copy, mail = Path(folder) / "forward.sieve", Path(folder) / "message.eml"
        copy.write_bytes(script.read_bytes())
        mail.write_bytes(message)
        for path in (copy, mail):
            path.chmod(0o644)
        users = ["-o", "mail_uid=nobody", "-o", "mail_gid=nogroup"] if os.geteuid() == 0 else []
        result = subprocess.run([SIEVE_TEST, *users, *trace, str(copy), str(mail)], capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout


def redirected_to(actions: str) -> list[str]:
    return re.findall(r"redirect message to: <(.*)>", actions)


def kept(actions: str) -> bool:
    return bool(re.search(r"Implicit keep:\s+\* store message in folder: INBOX", actions))


def sievec(script: Path, tmp_path: Path) -> None:
    result = subprocess.run([SIEVEC, str(script), str(tmp_path / "forward.svbin")], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_sieve
def test_sieve_script_compiles_redirects_portal_leads_with_a_copy_and_keeps_other_mail(ws, tmp_path):
    run_cli("-w", ws, "setup", "--point-of-sale", "lyon-2")
    script = ws / "setup" / "lyon-2" / "forward.sieve"
    sievec(script, tmp_path)
    cases = [
        (lead(sender='"SeLoger-Logic" <nouveau.contact@myselogerpro.nmp1.com>'), ["lyon2-seloger@track.example.net"]),
        (lead(sender="Leboncoin <no-reply@messagerie.leboncoin.fr>"), ["lyon2@track.example.net"]),
        (lead(sender="annonces@alertes.pap.fr"), ["lyon2@track.example.net"]),       # a subdomain of @pap.fr
        (lead(sender="formulaire@agence-exemple.fr", subject="Demande de contact"), ["lyon2@track.example.net"]),
        (lead(sender="jean.dupont@gmail.com", subject="Re: visite"), []),
        (lead(sender="someone@notpap.fr"), []),                                      # not a subdomain of pap.fr
    ]
    for message, targets in cases:
        actions = sieve_test(script, message)
        assert redirected_to(actions) == targets, actions
        assert kept(actions), actions     # the copy never takes the lead out of the mailbox
        if targets:
            assert "preserve implicit keep" in actions


# --------------------------------------------------------------------------- outlook-rule.ps1

POWERSHELL_QUOTES = "'\u2018\u2019\u201a\u201b"
POWERSHELL_LINES = [re.compile(p) for p in (
    r"\$Mailboxes = @\(S(, S)*\)",
    r"foreach \(\$Mailbox in \$Mailboxes\) \{",
    r"    New-InboxRule -Mailbox \$Mailbox -Name S -FromAddressContainsWords S(, S)* -RedirectTo S "
    r"-StopProcessingRules \$false",
    r"\}",
)]


def powershell_line(line: str) -> tuple[str, list[str]]:
    """The line with each single-quoted string replaced by S, and the strings' values."""
    code, strings, i = [], [], 0
    while i < len(line):
        if line[i] not in POWERSHELL_QUOTES:
            code.append(line[i])
            i += 1
            continue
        value, i = [], i + 1
        while True:
            assert i < len(line), f"unterminated string in {line!r}"
            if line[i] in POWERSHELL_QUOTES:
                if i + 1 < len(line) and line[i + 1] in POWERSHELL_QUOTES:
                    value.append(line[i])
                    i += 2
                    continue
                break
            value.append(line[i])
            i += 1
        strings.append("".join(value))
        code.append("S")
        i += 1
    return "".join(code), strings


def powershell_statements(path: Path) -> list[list[str]]:
    text = path.read_bytes().decode("utf-8")
    lines = text.split("\r\n")
    assert lines[-1] == "" and not any("\r" in line or "\n" in line for line in lines)
    statements = []
    for line in lines[:-1]:
        if line.startswith("#"):
            continue
        code, strings = powershell_line(line)
        assert any(p.fullmatch(code) for p in POWERSHELL_LINES), f"unexpected PowerShell: {line!r}"
        if strings:
            statements.append(strings)
    return statements


def test_outlook_script_redirects_each_portals_senders_from_the_mailbox(ws):
    run_cli("-w", ws, "setup", "--point-of-sale", "lyon-2")
    mailboxes, *rules = powershell_statements(ws / "setup" / "lyon-2" / "outlook-rule.ps1")
    assert mailboxes == ["lyon2@agence-exemple.fr"]
    others = [p.name for p in merged_portals(open_workspace(ws).portals) if p.senders and p.id != "seloger"]
    assert [(rule[0], rule[-1]) for rule in rules] == [
        ("emailtrack: SeLoger", "lyon2-seloger@track.example.net"),
        ("emailtrack: " + ", ".join(others), "lyon2@track.example.net")]
    assert "Bien'ici" in others and "Site Internet" in others
    assert "messagerie.leboncoin.fr" in rules[1] and "formulaire@agence-exemple.fr" in rules[1]


# --------------------------------------------------------------------------- index.html, index.md

class _Text(HTMLParser):
    """The text inside <main> (or <body>), and the tags met."""

    def __init__(self, whole: bool):
        super().__init__()
        self.parts, self.tags, self.depth = [], [], int(whole)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.depth += tag in ("main", "body")

    def handle_endtag(self, tag):
        self.depth -= tag in ("main", "body")

    def handle_data(self, data):
        if self.depth:
            self.parts.append(data)


def shown_text(html: str, whole: bool = False) -> tuple[str, list[str]]:
    parser = _Text(whole)
    parser.feed(html)
    return " ".join("".join(parser.parts).split()), parser.tags


def markdown_to_html(markdown: str) -> str:
    import mistune  # nbconvert's Markdown renderer: raw HTML in the Markdown would pass through
    return mistune.html(markdown)


def test_markdown_page_says_what_the_html_page_says(ws):
    run_cli("-w", ws, "setup", "--point-of-sale", "lyon-2")
    folder = ws / "setup" / "lyon-2"
    html_text, _ = shown_text((folder / "index.html").read_text())
    markdown_text, _ = shown_text(markdown_to_html((folder / "index.md").read_text()), whole=True)
    assert markdown_text == html_text
    assert "Transfert et POP/IMAP" in html_text


PAGE = """(() => ({text: document.body.innerText, scripts: document.scripts.length,
  headings: Array.from(document.querySelectorAll('h2')).map(h => h.textContent),
  title: document.title, h1: document.querySelector('h1').textContent,
  links: Array.from(document.querySelectorAll('a')).map(a => a.getAttribute('href'))}))()"""


@pytest.mark.chromium
def test_page_renders_in_chromium_with_nothing_loaded(ws, chromium):
    run_cli("-w", ws, "setup", "--point-of-sale", "paris-11", "--language", "en")
    page = ws / "setup" / "paris-11" / "index.html"
    visit, shown = chromium.open(page, inspect=PAGE)
    assert visit.errors == [] and visit.dialogs == []
    assert visit.requests == [page.as_uri()]
    assert shown["scripts"] == 0
    assert shown["headings"][3:8] == ["Gmail and Google Workspace", "Outlook on the web and Microsoft 365",
                                      "Outlook for Windows", "Apple Mail", "Sieve (Dovecot hosts, many hosting offers)"]
    assert shown["links"] == ["gmail-filters.xml", "outlook-rule.ps1", "forward.sieve", "gmail-filters.xml",
                              "outlook-rule.ps1", "forward.sieve"]
    assert "For every portal: paris11@track.example.net" in shown["text"]


# --------------------------------------------------------------------------- hostile names

@pytest.mark.chromium
def test_hostile_name_shows_as_written_in_the_browser(hostile, chromium):
    visit, shown = chromium.open(hostile / "index.html", inspect=PAGE)
    assert visit.dialogs == [] and visit.errors == [] and shown["scripts"] == 0
    assert visit.requests == [(hostile / "index.html").as_uri()]
    assert shown["h1"] == "Setting up lead tracking: " + HOSTILE_NAME
    assert "javascript:" not in "".join(shown["links"])
    assert all(sender in shown["text"] for sender in HOSTILE_SENDERS)


def test_hostile_name_is_text_in_the_markdown(hostile):
    markdown = (hostile / "index.md").read_text()
    assert re.search(r"(?<!\\)[<`*\[]", HOSTILE_NAME) and not re.search(
        r"(?<!\\)[<`*\[]", markdown.split("\n", 1)[0])   # every '<', '`', '*' and '[' of the name is escaped
    html_text, _ = shown_text((hostile / "index.html").read_text())
    rendered = markdown_to_html(markdown)
    markdown_text, tags = shown_text(rendered, whole=True)
    assert "script" not in tags and "b" not in tags and "a" in tags   # only the kit's own links
    assert re.findall(r'href="([^"]*)"', rendered) == ["gmail-filters.xml", "outlook-rule.ps1", "forward.sieve",
                                                       "gmail-filters.xml", "outlook-rule.ps1", "forward.sieve"]
    assert markdown_text == html_text
    name = " ".join(HOSTILE_NAME.split())
    assert name in markdown_text


def test_hostile_values_are_data_in_the_gmail_filters(hostile):
    feed = ET.parse(hostile / "gmail-filters.xml").getroot()
    assert feed.find(f"{ATOM}title").text == "emailtrack: " + HOSTILE_NAME.replace("\n", " ")
    senders = [f["from"] for f in gmail_filters(hostile / "gmail-filters.xml")]
    assert senders[-1] == " OR ".join(["formulaire@agence-exemple.fr", *HOSTILE_SENDERS])


def test_hostile_values_are_strings_or_comments_in_the_powershell(hostile):
    mailboxes, *rules = powershell_statements(hostile / "outlook-rule.ps1")
    assert mailboxes == ["lyon2@agence-exemple.fr"]
    assert rules[-1][-4:] == ["formulaire@agence-exemple.fr", *HOSTILE_SENDERS, "lyon2@track.example.net"]
    assert rules[0][0] == "emailtrack: SeLoger"


@needs_sieve
def test_hostile_values_are_strings_or_comments_in_the_sieve_script(hostile, tmp_path):
    script = hostile / "forward.sieve"
    sievec(script, tmp_path)
    # every key the script compares a sender with, as Pigeonhole decoded it from the script
    trace = sieve_test(script, lead(sender="jean.dupont@gmail.com"), "-t", "-", "-T", "level=matching")
    keys = re.findall(r"with key `(.*)' => 0$", trace, re.M)
    assert HOSTILE_SENDERS[0] in keys and HOSTILE_SENDERS[1] in keys, trace
    # had the sender's `discard;` become a command, other mail would be thrown away
    actions = sieve_test(script, lead(sender="jean.dupont@gmail.com"))
    assert redirected_to(actions) == [] and kept(actions) and "discard" not in actions, actions
