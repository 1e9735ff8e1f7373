"""A real IMAP server for the inbound-mail tests: Debian's Dovecot (`dovecot-imapd`), started in
the foreground with its own configuration in a temporary directory (127.0.0.1, a free port,
plaintext login, one passwd-file user, maildir storage there, no TLS)."""

from __future__ import annotations

import contextlib
import grp
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

USER = "crm"
PASSWORD = "inbound-test-password"  # noqa: S105 - a throwaway test server's


@dataclass(frozen=True)
class Server:
    port: int
    url: str

    def connect(self) -> imaplib.IMAP4:
        connection = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        connection.login(USER, PASSWORD)
        return connection

    def append(self, *messages: bytes) -> None:
        connection = self.connect()
        try:
            for raw in messages:
                connection.append("INBOX", "", None, raw)
        finally:
            connection.logout()

    def count(self, *criteria: str) -> int:
        connection = self.connect()
        try:
            connection.select("INBOX")
            _, data = connection.search(None, *(criteria or ("ALL",)))
            return len((data[0] or b"").split())
        finally:
            connection.logout()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _mail_owner() -> tuple[int, int, str]:
    """Who owns the mail: the current user, or (Dovecot refuses mail access as root) nobody."""
    uid = os.getuid()
    if uid == 0:
        nobody = pwd.getpwnam("nobody")
        return nobody.pw_uid, nobody.pw_gid, "nobody"
    return uid, os.getgid(), pwd.getpwuid(uid).pw_name


def _service_users() -> tuple[str, str, str]:
    """Internal user and group, login user: Dovecot's own (from the package) under root, which
    its login processes refuse to be; the current user otherwise."""
    if os.getuid() == 0:
        return "dovecot", "dovecot", "dovenull"
    me = pwd.getpwuid(os.getuid()).pw_name
    return me, grp.getgrgid(os.getgid()).gr_name, me


def _config(root: Path, port: int) -> str:
    uid, gid, _ = _mail_owner()
    me, group, login = _service_users()
    return f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {me}
default_internal_group = {group}
default_login_user = {login}
first_valid_uid = {min(uid, 1)}
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service auth {{
  user = {me}
}}
service auth-worker {{
  user = {me}
}}
"""


def _wait_for(port: int, process: subprocess.Popen[bytes], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            imaplib.IMAP4("127.0.0.1", port, timeout=1).logout()
            return True
        time.sleep(0.05)
    return False


@contextlib.contextmanager
def running() -> Iterator[Server | str]:
    """A started server, or the reason there is none (for a skip). Its directory is one of its
    own under /tmp, readable by Dovecot's users (pytest's temporary directories are not)."""
    binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
    if not Path(binary).exists():
        yield "dovecot is not installed (apt-get install dovecot-imapd)"
        return
    with tempfile.TemporaryDirectory(prefix="crm-dovecot-") as directory:
        root = Path(directory)
        root.chmod(0o755)
        yield from _serve(binary, root)


def _serve(binary: str, root: Path) -> Iterator[Server | str]:
    uid, gid, _ = _mail_owner()
    for sub in ("run", "state", "mail", "home"):
        (root / sub).mkdir(parents=True)
    for sub in ("mail", "home"):
        os.chown(root / sub, uid, gid)
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    (root / "passwd").chmod(0o644)
    port = _free_port()
    (root / "dovecot.conf").write_text(_config(root, port))
    process = subprocess.Popen(
        [binary, "-F", "-c", str(root / "dovecot.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        if not _wait_for(port, process, 10):
            log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
            yield f"dovecot did not start: {log[-500:] or 'no log'}"
            return
        yield Server(port=port, url=f"imap://{USER}:{PASSWORD}@127.0.0.1:{port}/INBOX")
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
