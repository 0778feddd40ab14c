"""Warm answers over the daemon's Unix socket: newline-delimited JSON, one answer line per request line.

Requests: `{"op": "search", "query", "k", "filters"}` → `{"ok": true, "hits": [...]}`,
`{"op": "status"}` → `{"ok": true, "status": {...}}`, and `{"op": "skill", "name", "options",
"stream"}` → `{"ok": true, "result": ...}`: any registered skill (draft, ask, rewrite, suggest,
a plugin's) run on the warm models with JSON options, its result as JSON. With `"stream":
true` (for a skill that takes `on_text`, such as draft) the text comes first as
`{"ok": true, "piece": "..."}` lines, each already through the guard, then the result line.
Errors come back as `{"ok": false, "error": "..."}` and the connection stays usable.
"""

from __future__ import annotations

import json
import logging
import os
import socketserver
import threading
import time
from dataclasses import asdict, fields, is_dataclass
from typing import Callable

log = logging.getLogger("assistant.daemon")


class WarmAnswers:
    """Searches and drafts on one long-lived `Assistant`, so its model and binary index stay loaded.

    Searching goes through `Assistant.search`, the very call `assistant search` makes
    without a daemon, so warm and cold answers are the same. Its `Searcher` picks up
    what changed in the store before each query; `refresh()` does that right after a
    batch, so the next query does not pay for it. Searches take turns under the
    assistant's search lock and skills under their own, so a search never waits for
    a draft to finish generating (a draft's own searches take the search lock briefly).
    """

    def __init__(self, assistant) -> None:
        self.assistant = assistant
        self._generation_lock = threading.Lock()

    def refresh(self) -> None:
        self.assistant.refresh_search()

    def search(self, query: str, k: int = 10, filters: dict | None = None) -> list[dict]:
        from assistant.retrieval.search import Filters

        filters = filters or {}
        unknown = set(filters) - {spec.name for spec in fields(Filters)}
        if unknown:
            raise ValueError(f"unknown search filter(s) {', '.join(sorted(unknown))}; "
                             f"use {', '.join(spec.name for spec in fields(Filters))}")
        return [hit.as_json() for hit in self.assistant.search(query, k=int(k), **filters)]

    def skill(self, name: str, options: dict, on_text: Callable[[str], None] | None = None):
        """A skill's result as JSON-ready data. Skills take turns: they share the one generator."""
        if not isinstance(options, dict) or {"save", "on_text"} & set(options):
            raise ValueError('"options" must be an object of JSON values (no "save" or "on_text": '
                             "the caller saves a draft and asks for a stream with \"stream\": true)")
        skill = self.assistant.skill(name)
        if on_text is not None:
            options = {**options, "on_text": on_text}
        with self._generation_lock:
            started = time.monotonic()
            result = skill.run(self.assistant, **options)
        log.info("skill %s answered in %.1f s", name, time.monotonic() - started)
        return _plain(result)


def _plain(value):
    """Dataclasses (and lists of them) as dicts, for JSON."""
    if is_dataclass(value):
        return asdict(value)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _user_error(exc: BaseException) -> bool:
    from assistant.errors import UserError

    return isinstance(exc, UserError)


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def serve(socket_path: str, answers: WarmAnswers, status: Callable[[], dict]) -> _Server:
    """Bind `socket_path` (mode 0600) and answer on a background thread; `shutdown()` stops it."""

    def answer(request: dict, send: Callable[[dict], None]) -> dict:
        op = request.get("op")
        if op == "search":
            if not isinstance(request.get("query"), str):
                raise ValueError('a search needs "query": a string')
            return {"hits": answers.search(request["query"], request.get("k", 10), request.get("filters"))}
        if op == "status":
            return {"status": status()}
        if op == "skill":
            if not isinstance(request.get("name"), str):
                raise ValueError('a skill request needs "name": a string (draft, ask, rewrite, suggest)')
            on_text = (lambda piece: send({"ok": True, "piece": piece})) if request.get("stream") else None
            return {"result": answers.skill(request["name"], request.get("options", {}), on_text)}
        raise ValueError(f"unknown op {op!r}; use search, status or skill")

    class Handler(socketserver.StreamRequestHandler):
        def send(self, reply: dict) -> None:
            self.wfile.write(json.dumps(reply, ensure_ascii=False).encode("utf-8") + b"\n")
            self.wfile.flush()

        def handle(self) -> None:
            try:
                for line in self.rfile:
                    self.send(self.reply(line))
            except (BrokenPipeError, ConnectionResetError):
                log.info("a client hung up before its answer (a stopped draft)")

        def reply(self, line: bytes) -> dict:
            try:
                return {"ok": True, **answer(json.loads(line), self.send)}
            except (BrokenPipeError, ConnectionResetError):
                raise
            except Exception as exc:  # a bad request gets a reason; the daemon goes on
                if _user_error(exc):  # the person's mistake: the message names the fix
                    return {"ok": False, "error": str(exc), "user_error": True}
                if not isinstance(exc, (ValueError, KeyError, TypeError)):
                    log.exception("request failed")
                return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}

    if os.path.exists(socket_path):
        os.unlink(socket_path)  # left by a daemon that was killed; the lock says none is running now
    old_mask = os.umask(0o177)
    try:
        server = _Server(socket_path, Handler)
    finally:
        os.umask(old_mask)
    os.chmod(socket_path, 0o600)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 1.0}, name="socket", daemon=True).start()
    return server
