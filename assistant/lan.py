"""Which network peers the assistant may talk to: this machine and the person's own LAN, nothing else.

A model server receives prompts full of the person's mail and notes, so its address is checked
twice: when the config is read (an IP literal must be loopback, private or link-local; a name
must be `localhost` or end in `.local`) and again before each connection (the name must
resolve only to such addresses, so a `.local` name cannot point at the internet).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from assistant.errors import UserError

LAN_NETWORKS = tuple(ipaddress.ip_network(net) for net in (
    "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16",
    "::1/128", "fe80::/10", "fc00::/7"))
FIX = ("use http://127.0.0.1:PORT/v1, a private LAN address (10.x, 172.16-31.x, 192.168.x, fe80::…) "
       "or a NAME.local host: prompts carry your data and go only to machines you own")


def is_lan_address(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # fe80::1%eth0: drop the zone
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in net for net in LAN_NETWORKS)


def check_lan_url(url: str, key: str) -> str:
    """`url` (http or https, a LAN host) without a trailing slash; a `UserError` naming `key` otherwise."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # a bad port (":99999", ":x") fails here, not at the first request
    except ValueError as exc:
        raise UserError(f"{key} = {url!r} is not a URL ({exc}); write it as http://HOST:PORT/v1") from exc
    if parts.scheme not in ("http", "https") or not host:
        raise UserError(f"{key} = {url!r} is not an http:// or https:// URL with a host; "
                        "write it as http://HOST:PORT/v1")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise UserError(f"{key} = {url!r} carries a user, password, query or fragment; keep only "
                        "http://HOST:PORT/PATH (an API key goes in the keyring: [server] api_key_secret)")
    if not (is_lan_address(host) or host == "localhost" or host.endswith(".local")):
        raise UserError(f"{key} = {url!r} is not on this machine or your LAN; {FIX}")
    return url.rstrip("/")


def check_resolves_to_lan(url: str, key: str) -> None:
    """Before connecting: every address `url`'s host resolves to must be a LAN address."""
    host = urlsplit(url).hostname or ""
    if is_lan_address(host):
        return
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise UserError(f"cannot resolve {host!r} from {key} = {url!r} ({exc}); check the name, "
                        "or use the server's LAN IP address") from exc
    outside = sorted({info[4][0] for info in infos if not is_lan_address(info[4][0])})
    if outside:
        raise UserError(f"{host!r} from {key} = {url!r} resolves to {', '.join(outside)}, outside your LAN; {FIX}")
