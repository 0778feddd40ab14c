"""The chat sources: the generic JSONL format, and importers that each claim one real export shape.

WhatsApp `.txt`, Telegram Desktop `result.json`, a Slack export folder, ChatGPT
`conversations.json`, and the assistant's own sessions. Each message is one
document (kind "chat", title and `meta.conversation` the conversation's name).
"""

from assistant.hookspecs import hookimpl

from .chatgpt import ChatGPTSource
from .jsonl import JsonlChatSource
from .sessions import SessionsSource
from .slack import SlackSource
from .telegram import TelegramSource
from .whatsapp import WhatsAppSource


@hookimpl
def register_sources(register):
    for source in (SessionsSource(), WhatsAppSource(), TelegramSource(), SlackSource(), ChatGPTSource(),
                   JsonlChatSource()):
        register(source)
