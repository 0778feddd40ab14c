"""Where a draft can be kept: an `.eml` file, a Maildir's Drafts folder, an IMAP account's Drafts.

Each is an RFC 5322 message (`email.message.EmailMessage`): From is the person's configured
address, then To, Subject, Date, Message-ID and, for a reply, In-Reply-To and References.
Targets are checked before anything is generated, so a bad path costs no generation; the
file is written atomically (temporary file, then rename), and a Maildir message is written
to `tmp` and moved into place by `mailbox`. Nothing is ever sent.
"""

from __future__ import annotations

import email.utils
import mailbox
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from assistant.config import Identity
from assistant.errors import UserError
from assistant.home import atomic_write

MAILDIR_PARTS = ("cur", "new", "tmp")
NO_ADDRESS = ("cannot save the draft: config.toml [me] emails holds no address of yours for its From; "
              "add one (`assistant init --force --email you@example.com`, or edit config.toml)")


@dataclass
class Envelope:
    """The headers a saved draft carries besides its body."""

    to: list[str] = field(default_factory=list)
    subject: str = ""
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)


def build_message(me: Identity, envelope: Envelope, body: str) -> EmailMessage:
    if not me.emails:
        raise UserError(NO_ADDRESS)
    address = me.emails[0]
    message = EmailMessage()
    message["From"] = email.utils.formataddr((me.names[0], address)) if me.names else address
    if envelope.to:
        message["To"] = ", ".join(envelope.to)
    message["Subject"] = envelope.subject or "(no subject)"
    message["Date"] = email.utils.format_datetime(email.utils.localtime())
    message["Message-ID"] = email.utils.make_msgid(domain=address.rsplit("@", 1)[-1])
    if envelope.in_reply_to:
        message["In-Reply-To"] = envelope.in_reply_to
    if envelope.references:
        message["References"] = " ".join(envelope.references)
    message.set_content(body + "\n")
    return message


def check_out_path(path: Path) -> None:
    if path.is_dir():
        raise UserError(f"--out {path} is a folder; name the file to write, e.g. {path / 'draft.eml'}")
    if not path.parent.is_dir():
        raise UserError(f"--out {path}: the folder {path.parent} does not exist; create it or choose another path")


def check_maildir(root: Path) -> None:
    if not all((root / part).is_dir() for part in MAILDIR_PARTS):
        raise UserError(f"--maildir-drafts {root} is not a Maildir (no cur/new/tmp folders); "
                        "pass the Maildir's top folder, e.g. ~/Maildir")


def maildir_drafts(root: Path) -> Path:
    """The Drafts folder of the Maildir at `root`: `.Drafts` (Maildir++), else a `Drafts` Maildir
    inside it, else `root` itself when it is the Drafts folder; `.Drafts` is created when none exists."""
    check_maildir(root)
    for candidate in (root / ".Drafts", root / "Drafts"):
        if all((candidate / part).is_dir() for part in MAILDIR_PARTS):
            return candidate
    if root.name.lstrip(".").lower() == "drafts":
        return root
    mailbox.Maildir(str(root), factory=None, create=False).add_folder("Drafts")
    return root / ".Drafts"


def save_to_maildir(root: Path, message: EmailMessage) -> Path:
    """Add `message` to the Maildir's Drafts with the flags D (draft) and S (seen); the file's path."""
    folder = maildir_drafts(root)
    box = mailbox.Maildir(str(folder), factory=None, create=False)
    entry = mailbox.MaildirMessage(message)
    entry.set_subdir("cur")
    entry.set_flags("DS")
    key = box.add(entry)
    return folder / "cur" / f"{key}{box.colon}2,DS"


@dataclass
class Targets:
    out: Path | None = None
    maildir: Path | None = None
    imap_account: str | None = None

    def __bool__(self) -> bool:
        return bool(self.out or self.maildir or self.imap_account)

    def check(self, home, me: Identity) -> None:
        """Fail now, before anything is generated, on a target that cannot be written."""
        if not me.emails:
            raise UserError(NO_ADDRESS)
        if self.out:
            check_out_path(self.out)
        if self.maildir:
            check_maildir(self.maildir)
        if self.imap_account:
            from assistant_plugins.mail.imap_drafts import account_named

            account_named(home, self.imap_account)

    def save(self, home, me: Identity, envelope: Envelope, body: str) -> list[str]:
        """Write the draft to every target; where each copy went."""
        message = build_message(me, envelope, body)
        saved = []
        if self.out:
            try:
                atomic_write(self.out, bytes(message))
            except OSError as exc:
                raise UserError(f"--out {self.out}: cannot write it ({exc.strerror}); "
                                "check the folder is writable and the disk has space") from exc
            saved.append(str(self.out))
        if self.maildir:
            saved.append(str(save_to_maildir(self.maildir, message)))
        if self.imap_account:
            from assistant_plugins.mail.imap_drafts import append_draft

            folder = append_draft(home, self.imap_account, bytes(message))
            saved.append(f"imap:{self.imap_account}/{folder}")
        return saved

