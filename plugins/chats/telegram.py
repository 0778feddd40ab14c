"""Telegram Desktop "Export chat history" in JSON: `result.json`.

Either one chat ({"name", "type", "id", "messages": [...]}) or a full account
export ({"chats": {"list": [chat, ...]}}). A message has `from`, `date` and a
`text` that is a string or a list of strings and entities ({"type": "bold",
"text": "…"}). Service messages (joins, calls, pins) and messages with no text
(a photo alone) are skipped.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

from assistant.config import Identity
from assistant.sources import Failure, Item, SkipFile

from .common import SPECIFIC_PRIORITY, chat_item, head, load_json

_CHAT_TYPE = re.compile(r'"type":\s*"(personal_chat|bot_chat|saved_messages|private_group|'
                        r'(?:private|public)_(?:super)?group|(?:private|public)_channel)"')


def message_text(text) -> str:
    """The plain text of a Telegram `text` field: a string, or a list of strings and entities."""
    if isinstance(text, str):
        return text
    if isinstance(text, list):
        return "".join(part if isinstance(part, str) else str(part.get("text", ""))
                       for part in text if isinstance(part, (str, dict)))
    return ""


def _chats(export) -> list[dict]:
    if isinstance(export, dict) and isinstance(export.get("messages"), list):
        return [export]
    if isinstance(export, dict) and isinstance(export.get("chats"), dict):
        return [chat for chat in export["chats"].get("list", []) if isinstance(chat, dict)]
    raise SkipFile("not a Telegram export: expected `messages` or `chats.list` at the top level")


class TelegramSource:
    name = "telegram"
    kind = "chat"
    priority = SPECIFIC_PRIORITY

    def claims(self, path: Path) -> bool:
        if not (path.suffix.lower() == ".json" and path.is_file()):
            return False
        start = head(path)
        one_chat = '"messages"' in start and _CHAT_TYPE.search(start) is not None
        # a whole-account export lists contacts before its chats, so its messages may start far in
        whole_account = '"personal_information"' in start and '"about"' in start
        return one_chat or whole_account

    def read(self, path: Path, me: Identity) -> Iterator[Item | Failure]:
        for chat in _chats(load_json(path, "Telegram export")):
            chat_id = chat.get("id", "")
            conversation = str(chat.get("name") or f"Telegram chat {chat_id}")
            for message in chat.get("messages", []):
                if not isinstance(message, dict) or message.get("type") != "message":
                    continue
                uri = f"{path}#chat={chat_id}&message={message.get('id')}"
                text = message_text(message.get("text")).strip()
                if not text:
                    continue
                speaker = str(message.get("from") or message.get("from_id") or "")
                from_id = str(message.get("from_id") or "")
                yield chat_item(uri, conversation, speaker, text, str(message.get("date", "")), me,
                                aliases=[from_id] if from_id and from_id != speaker else [])
