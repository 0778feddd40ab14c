"""A Slack workspace export, unzipped: a folder read as one unit.

    export/users.json  channels.json  [dms.json groups.json mpims.json]
    export/general/2024-05-01.json    one file per channel per day: a list of messages

A message has `user` (an id, mapped to a name through `users.json`), `text` and
`ts` (Unix seconds as a string). Join/leave/topic and other system subtypes are
skipped; `<@U123>` mentions become `@name`. The person's own messages are those
whose user's name, real name or display name is one of their handles or names.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from assistant.config import Identity
from assistant.sources import Failure, Item, SkipFile

from .common import SPECIFIC_PRIORITY, chat_item, load_json

_DAY_FILE = re.compile(r"^\d{4}-\d{2}-\d{2}\.json$")
_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")
_KEPT_SUBTYPES = {"thread_broadcast", "me_message", "file_share"}
_CONVERSATION_LISTS = ("channels.json", "groups.json", "mpims.json", "dms.json")


def _names(user: dict) -> list[str]:
    profile = user.get("profile") or {}
    found = [profile.get("display_name"), profile.get("real_name"), user.get("real_name"), user.get("name")]
    return [name for name in dict.fromkeys(found) if isinstance(name, str) and name.strip()]


def _conversation_names(folder: Path) -> dict[str, str]:
    """Folder name → shown name, from the export's channel/group/DM lists (a DM folder is its id)."""
    shown: dict[str, str] = {}
    for listing in _CONVERSATION_LISTS:
        if not (folder / listing).is_file():
            continue
        for entry in load_json(folder / listing, f"Slack {listing}"):
            if isinstance(entry, dict) and (entry.get("name") or entry.get("id")):
                key = entry.get("name") or entry.get("id")
                shown[key] = f"#{entry['name']}" if entry.get("name") else f"Slack DM {entry['id']}"
    return shown


class SlackSource:
    name = "slack"
    kind = "chat"
    priority = SPECIFIC_PRIORITY

    def claims(self, path: Path) -> bool:
        return path.is_dir() and (path / "users.json").is_file() and (path / "channels.json").is_file()

    def read(self, path: Path, me: Identity) -> Iterator[Item | Failure]:
        users = load_json(path / "users.json", "Slack users.json")
        if not isinstance(users, list):
            raise SkipFile("not a Slack export: users.json is not a list of users")
        names = {user["id"]: _names(user) for user in users if isinstance(user, dict) and "id" in user}
        shown = _conversation_names(path)
        for channel in sorted(p for p in path.iterdir() if p.is_dir() and not p.is_symlink()):
            conversation = shown.get(channel.name, f"#{channel.name}")
            for day in sorted(p for p in channel.iterdir() if _DAY_FILE.match(p.name) and p.is_file()):
                try:
                    messages = load_json(day, f"Slack day file {channel.name}/{day.name}")
                except SkipFile as exc:
                    yield Failure(str(day), str(exc))
                    continue
                for message in messages if isinstance(messages, list) else []:
                    item = self._item(day, conversation, message, names, me)
                    if item is not None:
                        yield item

    def _item(self, day: Path, conversation: str, message, names: dict[str, list[str]], me: Identity) -> Item | None:
        if not isinstance(message, dict) or message.get("type") != "message":
            return None
        if message.get("subtype") and message["subtype"] not in _KEPT_SUBTYPES:
            return None
        text = _MENTION.sub(lambda m: "@" + (names.get(m.group(1)) or [m.group(1)])[0], str(message.get("text", "")))
        if not text.strip():
            return None
        user = str(message.get("user", ""))
        aliases = names.get(user) or [str(message.get("user_name") or user)]
        ts = str(message.get("ts", ""))
        try:
            when = datetime.fromtimestamp(float(ts), timezone.utc).isoformat(timespec="seconds")
        except ValueError:
            when = ""
        return chat_item(f"{day}#ts={ts}", conversation, aliases[0], text.strip(), when, me,
                         aliases=aliases[1:], slack_user=user)
