"""ChatGPT's data export: `conversations.json`, a list of conversations.

Each conversation has a `title` and a `mapping` of nodes (a tree, since a message
can be edited and regenerated); a node's `message` has `author.role`,
`content.parts` and `create_time` (Unix seconds). Every node with text is kept,
ordered by time; the `user` turns are the person's own writing, and system and
tool turns are skipped.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from assistant.config import Identity
from assistant.sources import Item, SkipFile

from .common import SPECIFIC_PRIORITY, chat_item, head, load_json

SPEAKERS = {"user": None, "assistant": "ChatGPT"}  # None: the person


def _when(seconds) -> str:
    if not isinstance(seconds, (int, float)):
        return ""
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="seconds")


def _text(message: dict) -> str:
    parts = (message.get("content") or {}).get("parts") or []
    return "\n".join(part for part in parts if isinstance(part, str)).strip()


class ChatGPTSource:
    name = "chatgpt"
    kind = "chat"
    priority = SPECIFIC_PRIORITY

    def claims(self, path: Path) -> bool:
        if not (path.suffix.lower() == ".json" and path.is_file()):
            return False
        start = head(path).lstrip()
        return start.startswith("[") and '"mapping"' in start

    def read(self, path: Path, me: Identity) -> Iterator[Item]:
        export = load_json(path, "ChatGPT export")
        if not isinstance(export, list):
            raise SkipFile("not a ChatGPT export: expected a list of conversations")
        for number, conversation in enumerate(export):
            if not isinstance(conversation, dict) or not isinstance(conversation.get("mapping"), dict):
                continue
            title = str(conversation.get("title") or "ChatGPT conversation")
            conversation_id = conversation.get("conversation_id") or conversation.get("id") or number
            nodes = [node for node in conversation["mapping"].values()
                     if isinstance(node, dict) and isinstance(node.get("message"), dict)]
            nodes.sort(key=lambda node: node["message"].get("create_time") or 0)
            for node in nodes:
                message = node["message"]
                role = (message.get("author") or {}).get("role")
                text = _text(message)
                if role not in SPEAKERS or not text:
                    continue
                speaker = me.display_name if role == "user" else SPEAKERS[role]
                uri = f"{path}#conversation={conversation_id}&node={node.get('id') or message.get('id')}"
                yield chat_item(uri, title, speaker, text, _when(message.get("create_time")), me, role=role)
