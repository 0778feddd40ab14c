"""The `mail` source: `.eml` files, mbox files and Maildir folders; IMAP accounts sync through
`assistant sources sync imap` (see `imap.py`).

A message is the person's own when its From is one of their configured addresses. Only what
the message's author wrote is indexed as the message's text; quoted replies and signatures
are split off, so another person's words are never taken for the person's own style. Text
attachments are indexed as items of their own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from assistant.config import Identity
from assistant.hookspecs import hookimpl
from assistant.sources import Failure, Item
from assistant_plugins.mail.mailboxes import is_maildir, looks_like_mbox, read_eml, read_maildir, read_mbox


class MailSource:
    name = "mail"
    kind = "mail"

    def claims(self, path: Path) -> bool:
        # the name first: a stat per source per file is most of an unchanged tree's reconciliation
        if path.suffix.lower() == ".eml":
            return path.is_file()
        if path.is_dir():
            return is_maildir(path)
        return looks_like_mbox(path)

    def read(self, path: Path, me: Identity) -> Iterable[Item | Failure]:
        if path.is_dir():
            return read_maildir(path, me)
        if path.suffix.lower() == ".eml":
            return read_eml(path, me)
        return read_mbox(path, me)


@hookimpl
def register_sources(register):
    register(MailSource())


@hookimpl
def register_jobs(register):
    from assistant_plugins.mail.imap import poll_interval, sync_configured_accounts

    register("imap-sync", poll_interval(), sync_configured_accounts)


@hookimpl
def register_commands(cli):
    from assistant_plugins.mail.commands import add_commands

    add_commands(cli)
