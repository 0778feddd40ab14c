"""Read-only, incremental IMAP sync into the store.

Per account and folder the store keeps the folder's UIDVALIDITY and the highest UID stored
(`imap_state`). A sync EXAMINEs each folder (read-only), fetches UIDs above that mark with
BODY.PEEK[] (so nothing is marked \\Seen) in batches, and advances the mark only after a
batch is committed: a connection dropped mid-fetch resumes on the next run, and a batch
stored twice is recognised by its URI and content hash, never duplicated. A changed
UIDVALIDITY means the server renumbered the folder, so its documents are dropped and the
folder is fetched again. Stored messages whose UIDs the server no longer lists (deleted,
or moved to another folder) are removed. The password comes only from the OS keyring (`imap.NAME`).
"""

from __future__ import annotations

import imaplib
import ipaddress
import os
import re
import ssl
from dataclasses import dataclass, field
from typing import Callable, Iterator
from urllib.parse import quote

from assistant.errors import UserError
from assistant.secrets import get_secret
from assistant.sources import Failure, Item
from assistant.store.db import write_transaction
from assistant.store.documents import delete_documents, now
from assistant_plugins.mail.parse import read_message

DEFAULT_BATCH = 50
DEFAULT_POLL_SECONDS = 300.0
TIMEOUT_S = 60
_LIST_LINE = re.compile(rb'^\((?P<flags>[^)]*)\) (?P<delim>"(?:[^"\\]|\\.)*"|NIL) (?P<name>.*)$')
_FETCH_UID = re.compile(rb"\bUID (\d+)")
_URI_UID = re.compile(r"/;UID=(\d+)(?:#|$)")


class ImapError(UserError):
    """An account that could not be synced; the message names the account, the cause and the fix."""


@dataclass(frozen=True)
class ImapAccount:
    name: str
    host: str
    user: str
    port: int = 993
    ssl: bool = True
    starttls: bool = False
    folders: list[str] | None = None  # None: every selectable folder from LIST

    @property
    def base_uri(self) -> str:
        return f"imap://{quote(self.user, safe='')}@{self.host}"

    def container(self, folder: str) -> str:
        return f"{self.base_uri}/{quote(folder, safe='/.-_~&')}"


@dataclass
class FolderSync:
    folder: str
    uidvalidity: int = 0
    fetched: int = 0  # messages fetched in this run
    removed: int = 0  # stored messages gone from the server (deleted or moved away) since the last run
    last_uid: int = 0
    refetched: bool = False  # UIDVALIDITY changed, so the folder was fetched again
    error: str = ""


class _ImapOrigin:
    """What `Indexer.store_items` needs of a source: documents from IMAP are mail."""

    name = "imap"
    kind = "mail"


def load_accounts(raw_config: dict) -> list[ImapAccount]:
    """The `[[imap]]` tables of config.toml, checked field by field."""
    tables = raw_config.get("imap", [])
    if not isinstance(tables, list):
        raise UserError("config.toml: `imap` must be a list of [[imap]] tables (write [[imap]], not [imap])")
    accounts = []
    for n, table in enumerate(tables, 1):
        where = f"config.toml [[imap]] #{n}"
        missing = [key for key in ("name", "host", "user") if not isinstance(table.get(key), str) or not table[key]]
        if missing:
            raise UserError(f"{where} lacks {', '.join(missing)}: each account needs name, host and user")
        if not re.fullmatch(r"[A-Za-z0-9_.@+-]+", table["name"]):
            raise UserError(f"{where}: name {table['name']!r} may hold only letters, digits and _.@+-")
        starttls = bool(table.get("starttls", False))
        use_ssl = bool(table.get("ssl", not starttls))  # STARTTLS upgrades a plain connection
        folders = table.get("folders")
        if folders is not None and not (isinstance(folders, list) and all(isinstance(f, str) for f in folders)):
            raise UserError(f"{where}: folders must be a list of folder names, e.g. [\"INBOX\", \"Sent\"]")
        try:
            port = int(table.get("port", 993 if use_ssl else 143))
        except (TypeError, ValueError):
            raise UserError(f"{where}: port {table.get('port')!r} is not a number") from None
        accounts.append(ImapAccount(table["name"], table["host"], table["user"], port, use_ssl, starttls, folders))
    return accounts


def configured_accounts(home) -> list[ImapAccount]:
    """The accounts in `home`'s config.toml (none when there is no config yet)."""
    import tomllib

    if not home.config_path.exists():
        return []
    try:
        raw = tomllib.loads(home.config_path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{home.config_path} is not valid TOML ({exc}); fix it") from exc
    return load_accounts(raw)


def poll_interval() -> float:
    """How often the daemon polls IMAP, in seconds: `ASSISTANT_IMAP_POLL`, default 300."""
    return float(os.environ.get("ASSISTANT_IMAP_POLL", DEFAULT_POLL_SECONDS))


def sync_configured_accounts(assistant) -> None:
    """The daemon's IMAP job: sync every configured account; raise (so the job backs off) if any failed."""
    results = sync_accounts(assistant, configured_accounts(assistant.home))
    errors = [r.error for r in results if r.error]
    if errors:
        raise ImapError("; ".join(errors))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def quote_mailbox(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _unquote(raw: bytes) -> str:
    text = raw.decode("utf-8", errors="replace")
    if text.startswith('"') and text.endswith('"'):
        text = re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


def list_entries(data: list) -> list[tuple[str, str]]:
    """(lower-cased flags, name) of each selectable folder in a LIST response (quoted, atom or literal names)."""
    entries = []
    for entry in data:
        if entry is None:
            continue
        line, literal = (entry[0], entry[1]) if isinstance(entry, tuple) else (entry, None)
        match = _LIST_LINE.match(line)
        flags = match["flags"].decode("utf-8", errors="replace").lower() if match else ""
        if not match or "\\noselect" in flags or "\\nonexistent" in flags:
            continue
        entries.append((flags, literal.decode("utf-8", errors="replace") if literal is not None
                        else _unquote(match["name"])))
    return entries


def parse_list(data: list) -> list[str]:
    """Selectable folder names from a LIST response."""
    return [name for _, name in list_entries(data)]


def describe(account: ImapAccount) -> str:
    return f"imap account {account.name} ({account.user}@{account.host}:{account.port})"


def connect(account: ImapAccount, password: str) -> imaplib.IMAP4:
    """A logged-in connection; never sends the password unencrypted off this machine."""
    where = describe(account)
    if not (account.ssl or account.starttls or _is_loopback(account.host)):
        raise ImapError(f"{where}: refusing to send the password unencrypted; "
                        "set ssl = true (port 993) or starttls = true in config.toml")
    try:
        if account.ssl:
            conn = imaplib.IMAP4_SSL(account.host, account.port, ssl_context=ssl.create_default_context(),
                                     timeout=TIMEOUT_S)
        else:
            conn = imaplib.IMAP4(account.host, account.port, timeout=TIMEOUT_S)
            if account.starttls:
                conn.starttls(ssl_context=ssl.create_default_context())
    except (OSError, imaplib.IMAP4.error) as exc:
        raise ImapError(f"{where}: cannot connect ({exc}); check host, port and ssl/starttls "
                        "in config.toml") from exc
    try:
        conn.login(account.user, password)
    except imaplib.IMAP4.error as exc:
        logout(conn)
        raise ImapError(f"{where}: login failed ({exc}); check user in config.toml and the "
                        f"password with `assistant secrets set imap.{account.name}`") from exc
    return conn


def logout(conn: imaplib.IMAP4) -> None:
    try:
        conn.logout()
    except (imaplib.IMAP4.error, OSError):
        pass  # the connection is gone already; nothing is left to release


class ImapSync:
    """One account's sync over one connection."""

    def __init__(self, assistant, account: ImapAccount, password: str, batch_size: int = DEFAULT_BATCH,
                 on_batch: Callable[[FolderSync], None] | None = None) -> None:
        from assistant.ingest.pipeline import Indexer

        self.assistant = assistant
        self.account = account
        self.password = password
        self.batch_size = max(1, batch_size)
        self.on_batch = on_batch or (lambda progress: None)
        self.indexer = Indexer(assistant)
        self.conn: imaplib.IMAP4 | None = None

    @property
    def where(self) -> str:
        return describe(self.account)

    def run(self) -> list[FolderSync]:
        self._connect()
        try:
            return [self._sync_folder(folder) for folder in self._folders()]
        except (imaplib.IMAP4.abort, OSError) as exc:
            raise ImapError(f"{self.where}: connection lost ({exc}); what was fetched is stored, "
                            "run the sync again to resume") from exc
        except imaplib.IMAP4.error as exc:
            raise ImapError(f"{self.where}: the server refused a command ({exc}); "
                            "what was fetched is stored") from exc
        finally:
            self._close()

    # -- connection ---------------------------------------------------------------------------

    def _connect(self) -> None:
        self.conn = connect(self.account, self.password)

    def _close(self) -> None:
        if self.conn is not None:
            logout(self.conn)
        self.conn = None

    def _folders(self) -> list[str]:
        if self.account.folders is not None:
            return list(self.account.folders)
        status, data = self.conn.list()
        if status != "OK":
            raise ImapError(f"{self.where}: LIST failed ({data}); name the folders with folders = [...] in config.toml")
        return parse_list(data)

    # -- one folder ---------------------------------------------------------------------------

    def _state(self, folder: str) -> dict | None:
        return next(self.assistant.db["imap_state"].rows_where(
            "account = ? AND folder = ?", [self.account.name, folder]), None)

    def _save_state(self, folder: str, uidvalidity: int, last_uid: int) -> None:
        self.assistant.db["imap_state"].upsert(
            {"account": self.account.name, "folder": folder, "uidvalidity": uidvalidity, "last_uid": last_uid,
             "synced_at": now()},
            pk=("account", "folder"),
        )

    def _sync_folder(self, folder: str) -> FolderSync:
        progress = FolderSync(folder)
        try:
            status, data = self.conn.select(quote_mailbox(folder), readonly=True)  # EXAMINE
        except imaplib.IMAP4.abort:
            raise
        except imaplib.IMAP4.error as exc:
            status, data = "NO", [str(exc).encode()]
        if status != "OK":
            progress.error = f"cannot open folder {folder!r}: {data[0].decode(errors='replace') if data else status}"
            return progress
        _, values = self.conn.response("UIDVALIDITY")
        progress.uidvalidity = int(values[0]) if values and values[0] else 0
        state = self._state(folder)
        container = self.account.container(folder)
        if state is not None and state["uidvalidity"] != progress.uidvalidity:
            self._forget_folder(folder, container, progress.uidvalidity)
            progress.refetched, state = True, None
        progress.last_uid = state["last_uid"] if state else 0
        progress.removed = self._drop_expunged(container, progress.last_uid)
        uids = self._uids_after(progress.last_uid)
        for start in range(0, len(uids), self.batch_size):
            batch = uids[start : start + self.batch_size]
            entries = list(self._fetch(folder, progress.uidvalidity, batch))
            self.indexer.store_items(_ImapOrigin(), container, entries)
            with write_transaction(self.assistant.db):  # only after the batch is committed
                self._save_state(folder, progress.uidvalidity, batch[-1])
            progress.fetched += len(batch)
            progress.last_uid = batch[-1]
            self.on_batch(progress)
        if state is None and not uids:
            with write_transaction(self.assistant.db):
                self._save_state(folder, progress.uidvalidity, progress.last_uid)
        return progress

    def _forget_folder(self, folder: str, container: str, uidvalidity: int) -> None:
        """The server renumbered the folder: its stored documents name UIDs that mean nothing now."""
        db = self.assistant.db
        ids = [row["id"] for row in db.query("SELECT id FROM documents WHERE container = ?", [container])]
        with write_transaction(db):
            delete_documents(db, ids)
            self._save_state(folder, uidvalidity, 0)

    def _drop_expunged(self, container: str, last_uid: int) -> int:
        """Remove stored messages whose UIDs the server no longer has: deleted there, or moved
        to another folder (where they arrive under a new UID). One UID SEARCH per folder."""
        if last_uid == 0:
            return 0
        present = set(self._uid_search(f"1:{last_uid}"))
        db = self.assistant.db
        gone = [row["id"] for row in db.query("SELECT id, uri FROM documents WHERE container = ?", [container])
                if (found := _URI_UID.search(row["uri"])) and int(found.group(1)) not in present]
        if gone:
            with write_transaction(db):
                delete_documents(db, gone)
        return len(gone)

    def _uid_search(self, uid_set: str) -> list[int]:
        status, data = self.conn.uid("SEARCH", "UID", uid_set)
        if status != "OK":
            raise imaplib.IMAP4.error(f"UID SEARCH failed: {data}")
        return [int(x) for x in b" ".join(d for d in data if d).split()]

    def _uids_after(self, last_uid: int) -> list[int]:
        # "N:*" always matches the highest UID, even one below N, so filter.
        return sorted(uid for uid in self._uid_search(f"{last_uid + 1}:*") if uid > last_uid)

    def _fetch(self, folder: str, uidvalidity: int, uids: list[int]) -> Iterator[Item | Failure]:
        status, data = self.conn.uid("FETCH", ",".join(map(str, uids)), "(UID BODY.PEEK[])")
        if status != "OK":
            raise imaplib.IMAP4.error(f"UID FETCH failed: {data}")
        base = f"{self.account.container(folder)};UIDVALIDITY={uidvalidity}"
        meta = {"account": self.account.name, "folder": folder}
        for entry in data:
            if not isinstance(entry, tuple):
                continue
            found = _FETCH_UID.search(entry[0])
            if not found:
                continue
            raw = entry[1]
            yield from read_message(lambda: raw, f"{base}/;UID={int(found.group(1))}", self.assistant.config.me, meta)


@dataclass
class AccountSync:
    account: str
    folders: list[FolderSync] = field(default_factory=list)
    error: str = ""


def sync_accounts(assistant, accounts: list[ImapAccount], batch_size: int = DEFAULT_BATCH,
                  on_batch: Callable[[ImapAccount, FolderSync], None] | None = None) -> list[AccountSync]:
    """Sync every account; one that fails (no password, unreachable, dropped) never stops the others."""
    results = []
    for account in accounts:
        result = AccountSync(account.name)
        try:
            password = get_secret(f"imap.{account.name}")
            if not password:
                raise ImapError(f"imap account {account.name}: no password stored; "
                                f"run `assistant secrets set imap.{account.name}`")
            notify = (lambda progress, account=account: on_batch(account, progress)) if on_batch else None
            result.folders = ImapSync(assistant, account, password, batch_size, notify).run()
        except UserError as exc:
            result.error = str(exc)
        results.append(result)
    return results
