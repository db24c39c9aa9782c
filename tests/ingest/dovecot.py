"""A real Dovecot IMAP server for the tests (Debian ``dovecot-imapd``), and what goes around it.

``DovecotServer`` writes its own configuration into a temporary folder (passwd-file users, a
Maildir each, a self-signed certificate for imaps and STARTTLS, an OAuth2 passdb whose tokens are
checked by ``TokenIntrospection``, a small HTTP server here) and runs ``dovecot -F`` on loopback
ports; ``CuttingProxy`` stands between a client and the server and closes the connection once
a given number of bytes came from the server, as a dropped link would.
"""

from __future__ import annotations

import http.server
import imaplib
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

# the server, when its IMAP process is installed too (dovecot-core alone, for Sieve, has none)
DOVECOT = next((path for path in (shutil.which("dovecot"), "/usr/sbin/dovecot") if path and os.path.exists(path)
                and any(os.path.exists(f"/usr/{lib}/dovecot/imap") for lib in ("lib", "libexec"))), None)
OPENSSL = shutil.which("openssl")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class TokenIntrospection:
    """The OAuth2 introspection endpoint Dovecot asks (RFC 7662, ``introspection_mode = post``):
    a token is active when ``tokens`` maps it to a user. ``asked`` keeps every token it was asked
    about, to show that Dovecot checked it here."""

    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}
        self.asked: list[str] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                token = urllib.parse.parse_qs(body).get("token", [""])[0]
                owner.asked.append(token)
                user = owner.tokens.get(token)
                answer = json.dumps({"active": True, "username": user} if user else {"active": False}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/introspect"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class DovecotServer:
    """Dovecot on 127.0.0.1: ``port`` (IMAP, STARTTLS offered) and ``tls_port`` (imaps)."""

    def __init__(self, introspection: TokenIntrospection) -> None:
        # short: Dovecot's unix sockets live under it (108 bytes at most a path)
        self.root = Path(tempfile.mkdtemp(prefix="dovecot-"))
        self.port, self.tls_port = free_port(), free_port()
        # a passwd-file per user: a user added while the server runs is read from a file of its own
        self.users = self.root / "users"
        self.users.mkdir()
        self.users.chmod(0o755)  # listed by Dovecot's auth process, whatever this process's umask
        self.log = self.root / "dovecot.log"
        self.ca_file = self.root / "cert.pem"
        subprocess.run([OPENSSL or "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                        "-keyout", str(self.root / "key.pem"), "-out", str(self.ca_file)],
                       check=True, capture_output=True)
        mail = self.root / "mail"
        mail.mkdir()
        if os.geteuid() == 0:
            # Dovecot refuses to give mail to root: the mail belongs to nobody, and the internal
            # processes run as the users the Debian package created
            owner = pwd.getpwnam("nobody")
            os.chown(mail, owner.pw_uid, owner.pw_gid)
            self.root.chmod(0o755)
            internal, login = "dovecot", "dovenull"
        else:
            owner = pwd.getpwuid(os.geteuid())
            internal = login = owner.pw_name
        (self.root / "oauth2.conf.ext").write_text(
            f"introspection_mode = post\nintrospection_url = {introspection.url}\n"
            "username_attribute = username\nactive_attribute = active\nactive_value = true\n")
        self.config = self.root / "dovecot.conf"
        self.config.write_text(f"""
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.log}
instance_name = emailtrack-test-{self.port}
listen = 127.0.0.1
protocols = imap
ssl = yes
ssl_cert = <{self.ca_file}
ssl_key = <{self.root}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2
auth_failure_delay = 0
first_valid_uid = {owner.pw_uid}
default_internal_user = {internal}
default_login_user = {login}
mail_location = maildir:{mail}/%u
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.tls_port}
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.users}/%u
  mechanisms = plain login
}}
passdb {{
  driver = oauth2
  mechanisms = xoauth2
  args = {self.root}/oauth2.conf.ext
}}
userdb {{
  driver = static
  args = uid={owner.pw_uid} gid={owner.pw_gid} home={mail}/%u
}}
""")
        self.process = subprocess.Popen([DOVECOT or "dovecot", "-F", "-c", str(self.config)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._wait_until_listening()

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self.process.stderr.read().decode() if self.process.stderr else ''}"
                                   f"{self.log.read_text() if self.log.exists() else ''}")
            try:
                with socket.create_connection(("127.0.0.1", self.tls_port), timeout=1), \
                        socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                    if probe.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("dovecot did not start listening in 20 s")

    def add_user(self, user: str, password: str) -> None:
        path = self.users / user
        path.write_text(f"{user}:{{PLAIN}}{password}\n")
        path.chmod(0o644)  # read by Dovecot's auth process; emailtrack's CLI sets umask 077 in this process

    def client(self, user: str, password: str) -> imaplib.IMAP4:
        """A session of the test's own, to append and look at messages as another mail client would."""
        imap = imaplib.IMAP4("127.0.0.1", self.port, timeout=30)
        imap.login(user, password)
        return imap

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stderr:
            self.process.stderr.close()
        # the master is gone, but its children may still be writing under run/ as they exit
        for _ in range(50):
            shutil.rmtree(self.root, ignore_errors=True)
            if not self.root.exists():
                break
            time.sleep(0.1)


class CuttingProxy:
    """A TCP relay to ``port`` that closes the first ``cuts`` connections once ``after`` bytes
    came from the server (a link dropped in the middle of a FETCH); later connections are
    relayed whole. ``connections`` counts those made."""

    def __init__(self, port: int, after: int, cuts: int = 1) -> None:
        self.upstream, self.after, self.cuts = port, after, cuts
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            limit = self.after if self.connections <= self.cuts else None
            server = socket.create_connection(("127.0.0.1", self.upstream))
            threading.Thread(target=self._pump, args=(client, server, None), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, limit), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket, limit: int | None) -> None:
        sent = 0
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if limit is not None and sent + len(data) >= limit:
                    target.sendall(data[:limit - sent])
                    break
                target.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for sock in (source, target):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def close(self) -> None:
        self.closed = True
        self.listener.close()
