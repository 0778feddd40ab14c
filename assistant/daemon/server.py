"""Warm answers over the daemon's Unix socket: newline-delimited JSON, one answer line per request line.

Requests: `{"op": "search", "query", "k", "filters"}` → `{"ok": true, "hits": [...]}`,
`{"op": "status"}` → `{"ok": true, "status": {...}}`, and `{"op": "draft", "instruction",
"to", "personalize", "max_tokens"}` → `{"ok": true, "draft": {...}}`. Errors come back
as `{"ok": false, "error": "..."}` and the connection stays usable.
"""

from __future__ import annotations

import json
import logging
import os
import socketserver
import threading
from dataclasses import asdict, fields, is_dataclass
from typing import Callable

log = logging.getLogger("assistant.daemon")


class WarmAnswers:
    """Searches and drafts on one long-lived `Assistant`, so its model and binary index stay loaded.

    Searching goes through `Assistant.search`, the very call `assistant search` makes
    without a daemon, so warm and cold answers are the same. Its `Searcher` picks up
    what changed in the store before each query; `refresh()` does that right after a
    batch, so the next query does not pay for it. Searches take turns under the
    assistant's search lock and drafts under their own, so a search never waits for
    a draft to finish generating (a draft's own searches take the search lock briefly).
    """

    def __init__(self, assistant) -> None:
        self.assistant = assistant
        self._draft_lock = threading.Lock()

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

    def draft(self, **options) -> dict:
        with self._draft_lock:
            result = self.assistant.skill("draft").run(self.assistant, **options)
        return asdict(result) if is_dataclass(result) else result


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def serve(socket_path: str, answers: WarmAnswers, status: Callable[[], dict]) -> _Server:
    """Bind `socket_path` (mode 0600) and answer on a background thread; `shutdown()` stops it."""

    def answer(request: dict) -> dict:
        op = request.get("op")
        if op == "search":
            if not isinstance(request.get("query"), str):
                raise ValueError('a search needs "query": a string')
            return {"hits": answers.search(request["query"], request.get("k", 10), request.get("filters"))}
        if op == "status":
            return {"status": status()}
        if op == "draft":
            options = {key: request[key] for key in ("instruction", "to", "personalize", "max_tokens") if key in request}
            if not isinstance(options.get("instruction"), str):
                raise ValueError('a draft needs "instruction": a string')
            return {"draft": answers.draft(**options)}
        raise ValueError(f"unknown op {op!r}; use search, status or draft")

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            for line in self.rfile:
                try:
                    reply = {"ok": True, **answer(json.loads(line))}
                except Exception as exc:  # a bad request gets a reason; the daemon goes on
                    if not isinstance(exc, (ValueError, KeyError)):
                        log.exception("request failed")
                    reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
                self.wfile.write(json.dumps(reply, ensure_ascii=False).encode("utf-8") + b"\n")
                self.wfile.flush()

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
