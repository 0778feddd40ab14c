"""The HTTP client for an OpenAI-compatible model server on this machine or the person's LAN
(`[server]`), shared by the server generator and the server embedder.

Only the standard library talks to it, with no proxy and no redirects: prompts carry the person's
data and go to the configured LAN address (`assistant.lan`) and nowhere else. Every failure (refused,
timed out, an HTTP error, a reply that is not the JSON expected) is one `UserError` naming the URL
and the fix.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from assistant.config import ServerSettings
from assistant.errors import UserError
from assistant.lan import check_resolves_to_lan

URL_KEY = "[server] url in config.toml"
GUIDE = "README, 'A bigger model on your own hardware'"
MAX_REPLY_BYTES = 64 << 20


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise UserError(f"the model server at {req.full_url} redirects to {newurl}, and the assistant follows no "
                        f"redirect (your prompts would go there); set {URL_KEY} to the address that answers")


class ServerClient:
    """JSON over HTTP to `settings.url`; `root` is the URL without its `/v1` (where tokenize lives)."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.url = settings.url
        self.root = self.url.removesuffix("/v1")
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())
        self._checked = False

    def open(self, path: str, body: dict, at_root: bool = False, missing_ok: bool = False):
        """The open HTTP response to POST `body` at `path`; None for a 404 when `missing_ok`."""
        if not self._checked:
            check_resolves_to_lan(self.url, URL_KEY)
            self._checked = True
        url = (self.root if at_root else self.url) + path
        headers = {"Content-Type": "application/json"}
        if self.settings.api_key_secret:
            headers["Authorization"] = f"Bearer {self._api_key()}"
        request = urllib.request.Request(url, data=json.dumps(body).encode("utf-8"), headers=headers, method="POST")
        try:
            return self._opener.open(request, timeout=self.settings.timeout)
        except urllib.error.HTTPError as exc:
            with exc:
                if missing_ok and exc.code in (404, 405):
                    return None
                raise self._http_error(url, exc) from None
        except OSError as exc:  # URLError, refused, timed out, reset
            raise self.unreachable(exc) from exc

    def post(self, path: str, body: dict, at_root: bool = False, missing_ok: bool = False) -> dict | None:
        response = self.open(path, body, at_root, missing_ok)
        if response is None:
            return None
        url = (self.root if at_root else self.url) + path
        with response:
            try:
                raw = response.read(MAX_REPLY_BYTES)
            except OSError as exc:
                raise self.unreachable(exc) from exc
        return self.decode(url, raw)

    def decode(self, url: str, raw: bytes) -> dict:
        try:
            reply = json.loads(raw)
        except ValueError:
            reply = None
        if not isinstance(reply, dict):
            raise self.garbage(url, raw)
        return reply

    def garbage(self, url: str, raw: bytes | str) -> UserError:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        shown = " ".join(text.split())[:80]
        return UserError(f"the model server at {url} sent a reply that is not an OpenAI-compatible answer "
                         f"({shown!r}); point {URL_KEY} at llama-server or another OpenAI-compatible server "
                         f"(see {GUIDE})")

    def unreachable(self, exc: OSError) -> UserError:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError):
            return UserError(f"the model server at {self.url} did not answer within {self.settings.timeout:g} s; "
                             "check it is running and not overloaded, or raise [server] timeout in config.toml")
        if isinstance(reason, ConnectionRefusedError):
            return UserError(f"nothing answers at {self.url} (connection refused); start the model server "
                             f"there (see {GUIDE}) or fix {URL_KEY}")
        return UserError(f"cannot reach the model server at {self.url} ({reason}); check it is running "
                         f"and {URL_KEY}")

    def _http_error(self, url: str, exc: urllib.error.HTTPError) -> UserError:
        try:
            detail = " ".join(exc.read(2000).decode("utf-8", "replace").split())[:200]
        except OSError:
            detail = ""
        detail = detail or str(exc.reason)
        if exc.code in (401, 403):
            return UserError(f"the model server at {url} refused the request (HTTP {exc.code}: {detail}); store its "
                             "API key with `assistant secrets set server.NAME` and set [server] api_key_secret = "
                             "\"server.NAME\" in config.toml")
        return UserError(f"the model server at {url} answered HTTP {exc.code} ({detail}); check {URL_KEY} "
                         "(it ends in /v1), [server] model and the server's log")

    def _api_key(self) -> str:
        from assistant.secrets import get_secret

        key = get_secret(self.settings.api_key_secret)
        if not key:
            name = self.settings.api_key_secret
            raise UserError(f"[server] api_key_secret names {name!r}, which is not in the keyring; "
                            f"store it with `assistant secrets set {name}`")
        return key


def choice(client: ServerClient, url: str, reply: dict) -> dict:
    """`reply["choices"][0]`, or the garbage error when the reply has no such thing."""
    choices = reply.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise client.garbage(url, json.dumps(reply))
    return choices[0]
