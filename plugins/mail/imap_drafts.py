"""The one write the assistant makes to a mail server: APPEND a draft to the account's Drafts folder.

The folder is the one LIST marks `\\Drafts` (RFC 6154 special use), else one named `Drafts`
(any case, at the top or under the INBOX namespace), else a new top-level `Drafts`. The
message is stored with the flags `\\Draft \\Seen`. Nothing is ever sent: there is no SMTP here.
"""

from __future__ import annotations

import imaplib
import time

from assistant.errors import UserError
from assistant.secrets import get_secret
from assistant_plugins.mail.imap import (ImapAccount, ImapError, quote_mailbox, configured_accounts, connect,
                                         describe, list_entries, logout)

DRAFT_FLAGS = "(\\Draft \\Seen)"


def account_named(home, name: str) -> ImapAccount:
    accounts = configured_accounts(home)
    for account in accounts:
        if account.name == name:
            return account
    known = ", ".join(a.name for a in accounts) or "none configured"
    raise UserError(f"--imap-drafts {name}: no [[imap]] account of that name in config.toml ({known}); "
                    "add one or use one of those")


def drafts_folder(conn: imaplib.IMAP4) -> str:
    status, data = conn.list()
    entries = list_entries(data) if status == "OK" else []
    for flags, name in entries:
        if "\\drafts" in flags:
            return name
    for flags, name in entries:
        if name.lower() in ("drafts", "inbox.drafts", "inbox/drafts"):
            return name
    conn.create(quote_mailbox("Drafts"))
    return "Drafts"


def append_draft(home, name: str, raw: bytes) -> str:
    """APPEND `raw` to the Drafts folder of the account called `name`; the folder it went to."""
    account = account_named(home, name)
    password = get_secret(f"imap.{account.name}")
    if not password:
        raise ImapError(f"imap account {account.name}: no password stored; "
                        f"run `assistant secrets set imap.{account.name}`")
    conn = connect(account, password)
    try:
        folder = drafts_folder(conn)
        status, data = conn.append(quote_mailbox(folder), DRAFT_FLAGS, imaplib.Time2Internaldate(time.time()), raw)
    except (imaplib.IMAP4.error, OSError) as exc:
        raise ImapError(f"{describe(account)}: could not save the draft ({exc}); nothing was saved there, "
                        "try again or use --out") from exc
    finally:
        logout(conn)
    if status != "OK":
        raise ImapError(f"{describe(account)}: the server refused the draft ({data}); nothing was saved there, "
                        "try again or use --out")
    return folder
