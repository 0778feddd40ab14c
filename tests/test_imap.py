"""IMAP sync against a real Dovecot on loopback, with the password in a real (file) keyring."""

from __future__ import annotations

import imaplib
import json
import os
import pwd
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Iterator

import pytest

from assistant_plugins.mail.imap import FolderSync, ImapAccount, sync_accounts
from tests.conftest import run_cli

DOVECOT = Path("/usr/sbin/dovecot")
pytestmark = pytest.mark.skipif(not DOVECOT.exists(),
                                reason="/usr/sbin/dovecot is absent: install dovecot-imapd (`make system-packages`)")
PASSWORD = "s3cret-pass"
USERS = 12  # each test takes a fresh user, so each starts with empty folders


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Dovecot:
    root: Path
    conf: Path
    port: int
    users: Iterator[str]

    def add_user(self) -> str:
        """A user no other test has touched: their mailbox is empty."""
        return next(self.users)

    def client(self, user: str) -> imaplib.IMAP4:
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        conn.login(user, PASSWORD)
        return conn

    def doveadm(self, *args: str) -> None:
        subprocess.run(["doveadm", "-c", str(self.conf), *args], check=True, capture_output=True, timeout=30)


def _write_config(root: Path, port: int, uid: int, gid: int, user_name: str) -> Path:
    conf = root / "dovecot.conf"
    conf.write_text(f"""\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
default_internal_user = {user_name}
default_internal_group = {user_name}
default_login_user = {"dovenull" if os.geteuid() == 0 else user_name}
first_valid_uid = {uid}
mail_location = maildir:{root}/mail/%u/Maildir
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
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/passwd
}}
""")
    conf.chmod(0o644)
    return conf


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    # Outside pytest's 0700 tmp dirs: as root, mail processes run as the `dovecot` user.
    root = Path(tempfile.mkdtemp(prefix="assistant-dovecot-"))
    root.chmod(0o755)
    if os.geteuid() == 0:
        account = pwd.getpwnam("dovecot")
    else:
        account = pwd.getpwuid(os.getuid())
    (root / "mail").mkdir()
    os.chown(root / "mail", account.pw_uid, account.pw_gid)
    users = [f"priya{n}" for n in range(USERS)]
    (root / "passwd").write_text("".join(
        f"{user}:{{PLAIN}}{PASSWORD}:{account.pw_uid}:{account.pw_gid}::{root / 'mail' / user}\n" for user in users))
    (root / "passwd").chmod(0o644)  # read by Dovecot's auth process as its own user, whatever this umask
    port = _free_port()
    conf = _write_config(root, port, account.pw_uid, account.pw_gid, account.pw_name)
    process = subprocess.Popen([str(DOVECOT), "-F", "-c", str(conf)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
                    pytest.fail(f"dovecot did not start on port {port}: {log[-2000:]}")
                time.sleep(0.1)
        yield Dovecot(root, conf, port, iter(users))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def file_keyring(tmp_path) -> Iterator[object]:
    """A real keyring backend (a plaintext file in tmp), not a mock."""
    import keyring
    from keyrings.alt.file import PlaintextKeyring

    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "keyring.cfg")
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def _message(sender: str, to: str, subject: str, text: str, message_id: str, reply_to: str = "",
             attachment: tuple[str, str] | None = None) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Date"] = "Tue, 17 Mar 2026 10:00:00 +0000"
    message["Message-ID"] = message_id
    if reply_to:
        message["In-Reply-To"] = message["References"] = reply_to
    message.set_content(text)
    if attachment:
        message.add_attachment(attachment[1], subtype="plain", filename=attachment[0])
    return message.as_bytes()


SAM = "Sam Okoye <sam@fernhill.example>"
PRIYA = "Priya Nandakumar <priya@fernhill.example>"


def _deliver(dovecot: Dovecot, user: str, folder: str, messages: list[bytes]) -> None:
    conn = dovecot.client(user)
    quoted = f'"{folder}"'  # imaplib sends arguments as they are
    conn.create(quoted)  # NO when it exists, which is fine
    for raw in messages:
        status, _ = conn.append(quoted, None, None, raw)
        assert status == "OK"
    conn.logout()


def _inbox(n: int, start: int = 1) -> list[bytes]:
    return [_message(SAM, PRIYA, f"Planting list {i}", f"Note {i}: the hornbeams need {i} stakes each.",
                     f"<sam-{i}@fernhill.example>") for i in range(start, start + n)]


@pytest.fixture
def account(dovecot, assistant, file_keyring) -> ImapAccount:
    from assistant.secrets import set_secret

    user = dovecot.add_user()
    set_secret("imap.work", PASSWORD)
    return ImapAccount("work", "127.0.0.1", user, dovecot.port, ssl=False)


def _sync(assistant, account, **kwargs) -> dict[str, FolderSync]:
    [result] = sync_accounts(assistant, [account], **kwargs)
    assert not result.error, result.error
    return {folder.folder: folder for folder in result.folders}


def _imap_docs(assistant) -> dict[str, dict]:
    rows = assistant.db.query("SELECT * FROM documents WHERE uri LIKE 'imap://%'")
    return {row["uri"]: {**row, "meta": json.loads(row["meta"])} for row in rows}


def test_first_sync_stores_all_then_only_new_mail(dovecot, assistant, account):
    _deliver(dovecot, account.user, "INBOX", _inbox(3))
    _deliver(dovecot, account.user, "Sent Items", [_message(
        PRIYA, SAM, "Re: Planting list 1", "Thanks Sam, I'll order the stakes today.", "<priya-1@fernhill.example>",
        reply_to="<sam-1@fernhill.example>", attachment=("stakes.txt", "Order: 40 chestnut stakes, 2 m long."))])
    folders = _sync(assistant, account)
    assert {name: f.fetched for name, f in folders.items()} == {"INBOX": 3, "Sent Items": 1}  # from LIST
    docs = _imap_docs(assistant)
    base = f"imap://{account.user}@127.0.0.1"
    inbox_v, sent_v = folders["INBOX"].uidvalidity, folders["Sent Items"].uidvalidity
    reply_uri = f"{base}/Sent%20Items;UIDVALIDITY={sent_v}/;UID=1"
    assert set(docs) == {f"{base}/INBOX;UIDVALIDITY={inbox_v}/;UID={n}" for n in (1, 2, 3)} | {
        reply_uri, f"{reply_uri}#attachment/1"}
    reply = docs[reply_uri]
    assert reply["author_is_me"] == 1 and reply["meta"]["thread"] == "<sam-1@fernhill.example>"
    assert reply["meta"]["attachments"] == [{"name": "stakes.txt", "type": "text/plain", "size": 38}]
    assert docs[f"{base}/INBOX;UIDVALIDITY={inbox_v}/;UID=1"]["author_is_me"] == 0
    assert docs[f"{reply_uri}#attachment/1"]["author_is_me"] == 1  # she sent it; it is not one of her emails:
    assert docs[f"{reply_uri}#attachment/1"]["kind"] == "attachment"
    # BODY.PEEK[]: nothing was marked as read on the server
    conn = dovecot.client(account.user)
    conn.select("INBOX", readonly=True)
    _, flags = conn.fetch("1:*", "(FLAGS)")
    conn.logout()
    assert len(flags) == 3 and not any(b"\\Seen" in line for line in flags)

    again = _sync(assistant, account)
    assert {name: f.fetched for name, f in again.items()} == {"INBOX": 0, "Sent Items": 0}
    assert len(_imap_docs(assistant)) == 5

    _deliver(dovecot, account.user, "INBOX", _inbox(1, start=4))
    third = _sync(assistant, account)
    assert (third["INBOX"].fetched, third["INBOX"].last_uid, third["Sent Items"].fetched) == (1, 4, 0)
    new = set(_imap_docs(assistant)) - set(docs)
    assert new == {f"{base}/INBOX;UIDVALIDITY={inbox_v}/;UID=4"}


def test_mail_deleted_on_the_server_leaves_the_store(dovecot, assistant, account):
    _deliver(dovecot, account.user, "INBOX", _inbox(3))
    first = _sync(assistant, account)["INBOX"]
    conn = dovecot.client(account.user)
    conn.select("INBOX")
    conn.uid("STORE", "2", "+FLAGS", "(\\Deleted)")
    conn.expunge()
    conn.logout()
    second = _sync(assistant, account)["INBOX"]
    assert (second.removed, second.fetched, second.last_uid) == (1, 0, 3)
    base = f"imap://{account.user}@127.0.0.1/INBOX;UIDVALIDITY={first.uidvalidity}/;UID="
    assert set(_imap_docs(assistant)) == {base + "1", base + "3"}
    assert not assistant.db.execute("SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH '\"2 stakes\"'").fetchone()[0]
    assert _sync(assistant, account)["INBOX"].removed == 0


def test_changed_uidvalidity_refetches_the_folder_without_duplicates(dovecot, assistant, account):
    _deliver(dovecot, account.user, "INBOX", _inbox(3))
    first = _sync(assistant, account)["INBOX"]
    dovecot.doveadm("mailbox", "update", "-u", account.user, "--uid-validity", str(first.uidvalidity + 7), "INBOX")
    second = _sync(assistant, account)["INBOX"]
    assert second.refetched and second.fetched == 3 and second.uidvalidity == first.uidvalidity + 7
    uris = [uri for uri in _imap_docs(assistant) if "/INBOX;" in uri]
    assert len(uris) == 3 and all(f"UIDVALIDITY={second.uidvalidity}/" in uri for uri in uris)
    state = assistant.db["imap_state"].get(("work", "INBOX"))
    assert (state["uidvalidity"], state["last_uid"]) == (second.uidvalidity, 3)


def test_a_connection_dropped_mid_fetch_resumes_without_duplicates(dovecot, assistant, account):
    _deliver(dovecot, account.user, "INBOX", _inbox(5))
    account = ImapAccount(**{**account.__dict__, "folders": ["INBOX"]})

    def drop_after_first_batch(_account, progress) -> None:
        if progress.fetched == 2:
            dovecot.doveadm("kick", account.user)  # the server closes our connection

    [result] = sync_accounts(assistant, [account], batch_size=2, on_batch=drop_after_first_batch)
    assert "connection lost" in result.error and "run the sync again" in result.error
    assert len(_imap_docs(assistant)) == 2
    assert assistant.db["imap_state"].get(("work", "INBOX"))["last_uid"] == 2
    resumed = _sync(assistant, account, batch_size=2)["INBOX"]
    assert (resumed.fetched, resumed.last_uid) == (3, 5)
    uids = sorted(int(uri.rsplit("=", 1)[1]) for uri in _imap_docs(assistant))
    assert uids == [1, 2, 3, 4, 5]


def test_a_failing_account_never_stops_the_others(dovecot, assistant, account):
    from assistant.secrets import set_secret

    _deliver(dovecot, account.user, "INBOX", _inbox(1))
    down = ImapAccount("down", "127.0.0.1", "nobody", _free_port(), ssl=False)
    nopass = ImapAccount("nopass", "127.0.0.1", account.user, dovecot.port, ssl=False)
    remote_plain = ImapAccount("plain", "imap.example.com", "me", 143, ssl=False)
    for name in ("down", "plain"):
        set_secret(f"imap.{name}", "anything")
    account = ImapAccount(**{**account.__dict__, "folders": ["Missing", "INBOX"]})
    results = {r.account: r for r in sync_accounts(assistant, [down, nopass, remote_plain, account])}
    assert "cannot connect" in results["down"].error and "\n" not in results["down"].error
    assert "assistant secrets set imap.nopass" in results["nopass"].error
    assert "unencrypted" in results["plain"].error  # never sends a password in the clear off this machine
    missing, inbox = results["work"].folders
    assert "cannot open folder 'Missing'" in missing.error  # a bad folder never stops the next one
    assert not results["work"].error and inbox.fetched == 1


def _cli_account(dovecot, assistant, tmp_path, monkeypatch, folders: str) -> None:
    """A Dovecot user with two messages in INBOX, configured as account `work` reading `folders`,
    with a file keyring for the CLI."""
    user = dovecot.add_user()
    _deliver(dovecot, user, "INBOX", _inbox(2))
    with assistant.home.config_path.open("a") as handle:
        handle.write(f'\n[[imap]]\nname = "work"\nhost = "127.0.0.1"\nport = {dovecot.port}\nssl = false\n'
                     f'user = "{user}"\nfolders = {folders}\n')
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))


def test_cli_stores_the_password_in_the_keyring_and_syncs(dovecot, assistant, tmp_path, monkeypatch):
    _cli_account(dovecot, assistant, tmp_path, monkeypatch, '["INBOX"]')
    stored = run_cli("secrets", "set", "imap.work", input=PASSWORD + "\n")
    assert stored.returncode == 0, stored.stderr
    assert PASSWORD not in assistant.home.config_path.read_text()
    from keyrings.alt.file import PlaintextKeyring

    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "xdg" / "python_keyring" / "keyring_pass.cfg")
    assert backend.get_password("persona-assistant", "imap.work") == PASSWORD
    synced = run_cli("sources", "sync", "imap", "--json")
    assert synced.returncode == 0, synced.stderr
    [result] = json.loads(synced.stdout)
    assert result["folders"][0]["fetched"] == 2
    assert run_cli("secrets", "delete", "imap.work").returncode == 0
    again = run_cli("sources", "sync", "imap")
    assert again.returncode == 1 and "assistant secrets set imap.work" in again.stderr


def test_cli_sync_exits_1_when_a_folder_will_not_open(dovecot, assistant, tmp_path, monkeypatch):
    _cli_account(dovecot, assistant, tmp_path, monkeypatch, '["Missing", "INBOX"]')
    assert run_cli("secrets", "set", "imap.work", input=PASSWORD + "\n").returncode == 0
    synced = run_cli("sources", "sync", "imap")
    assert synced.returncode == 1
    assert "work/INBOX: 2 new message(s)" in synced.stdout  # the other folder was still synced
    assert synced.stderr.startswith("Error: work/Missing: cannot open folder 'Missing'")
    assert synced.stderr.count("\n") == 1


def test_the_daemon_polls_imap_and_new_mail_becomes_searchable(dovecot, tmp_path, monkeypatch):
    """The mail plugin's `register_jobs` hook: a real daemon process polls the real Dovecot."""
    from tests.daemon_support import DaemonProcess, make_home

    user = dovecot.add_user()
    _deliver(dovecot, user, "INBOX", _inbox(2))
    home = make_home(tmp_path / "daemon-home", [tmp_path / "notes"])
    with home.config_path.open("a") as handle:
        handle.write(f'\n[[imap]]\nname = "work"\nhost = "127.0.0.1"\nport = {dovecot.port}\nssl = false\n'
                     f'user = "{user}"\nfolders = ["INBOX"]\n')
    keyring_env = {"PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
                   "XDG_DATA_HOME": str(tmp_path / "xdg")}
    for key, value in keyring_env.items():
        monkeypatch.setenv(key, value)
    assert run_cli("secrets", "set", "imap.work", home=home, input=PASSWORD + "\n").returncode == 0
    daemon = DaemonProcess(home)
    daemon.env.update(keyring_env, ASSISTANT_IMAP_POLL="1")
    daemon.start()
    try:
        daemon.wait_ready()

        def imap_uris() -> set[str]:
            db = sqlite3.connect(home.db_path)
            try:
                return {r[0] for r in db.execute("SELECT uri FROM documents WHERE uri LIKE 'imap://%'")}
            finally:
                db.close()

        deadline = time.monotonic() + 120
        while len(imap_uris()) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert len(imap_uris()) == 2
        _deliver(dovecot, user, "INBOX", _inbox(1, start=3))
        while len(imap_uris()) < 3 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert len(imap_uris()) == 3
        answer = daemon.ask({"op": "search", "query": "hornbeams stakes", "k": 5})
        assert answer["ok"] and any(hit["uri"].startswith("imap://") for hit in answer["hits"])
    finally:
        daemon.stop()


def test_a_draft_is_appended_to_drafts_and_reads_back(dovecot, assistant, account):
    """`draft --imap-drafts work`: APPEND into Drafts (created when missing, reused after), flagged
    \\Draft, From and To as set; nothing sent."""
    import email

    from assistant_plugins.draft import draft
    from assistant_plugins.draft.save import Targets
    from tests.draft_support import Recorder

    with assistant.home.config_path.open("a") as handle:
        handle.write(f'\n[[imap]]\nname = "work"\nhost = "127.0.0.1"\nport = {dovecot.port}\nssl = false\n'
                     f'user = "{account.user}"\n')
    assistant.__dict__["generator"] = Recorder("Hiya Sam,\n\nThanks — ordering today.\n\nOnwards,\nPriya")
    first = draft(assistant, "thank Sam", to="sam@fernhill.example", save=Targets(imap_account="work"))
    second = draft(assistant, "thank Sam again", to="sam@fernhill.example", save=Targets(imap_account="work"))
    assert first.saved == second.saved == ["imap:work/Drafts"]
    conn = dovecot.client(account.user)
    _, listed = conn.list()
    assert sum(b'"Drafts"' in line or line.endswith(b" Drafts") for line in listed) == 1
    conn.select("Drafts", readonly=True)
    _, data = conn.fetch("1:*", "(FLAGS BODY.PEEK[])")
    conn.logout()
    fetched = [entry for entry in data if isinstance(entry, tuple)]
    assert len(fetched) == 2 and all(b"\\Draft" in entry[0] for entry in fetched)
    message = email.message_from_bytes(fetched[0][1])
    assert message["From"] == "Priya Nandakumar <priya@fernhill.example>" and message["To"] == "sam@fernhill.example"
    assert message["Subject"] == "thank Sam" and "ordering today" in message.get_payload(decode=True).decode()
