"""Pure URL rules: classify a source URL by extension and refuse unsafe ones by syntax.

No DNS, no network: a host *name* that resolves to a private address is caught later by the
guarded fetcher (``media/fetch.py``), which reuses :func:`is_public_address` on every resolved
address. Here we catch what the text alone proves: a wrong scheme, embedded credentials, and
literal addresses (in any spelling ``inet_aton`` accepts) that are not public.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from typing import Literal, NamedTuple
from urllib.parse import urlsplit

from mediagate.errors import MediagateError

MediaKind = Literal["image", "video", "audio"]

IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "webp", "gif", "avif"})
VIDEO_EXTENSIONS = frozenset({"mp4", "mov", "webm", "m4v"})
AUDIO_EXTENSIONS = frozenset({"mp3", "wav", "m4a", "aac", "ogg"})

_KIND_BY_EXT: dict[str, MediaKind] = {
    **dict.fromkeys(IMAGE_EXTENSIONS, "image"),
    **dict.fromkeys(VIDEO_EXTENSIONS, "video"),
    **dict.fromkeys(AUDIO_EXTENSIONS, "audio"),
}

_BLOCKED_NAMES = frozenset({"localhost", "metadata.google.internal", "metadata", "instance-data"})
_IPV4_LAST = frozenset("0123456789abcdefABCDEFxX.")
_IPV4ISH = re.compile(r"^[0-9a-fA-FxX.]+$")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")


def extension(url: str, path: str | None = None) -> str:
    """Lower-case file extension of the URL's path, without the dot ('' when none).

    ``path`` skips re-parsing when the caller already split the URL.
    """
    if path is None:
        path = urlsplit(url).path
    name = path.rsplit("/", 1)[-1]
    if "." not in name:
        return ""
    return name.rsplit(".", 1)[-1].lower()


def classify(url: str, path: str | None = None) -> MediaKind | None:
    """Media kind by file extension, as the seeds describe; ``None`` when unrecognised."""
    return _KIND_BY_EXT.get(extension(url, path))


def _embedded_ipv4(addr: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr.sixtofour is not None:
        return addr.sixtofour
    for net in _NAT64:
        if addr in net:
            return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    # IPv4-compatible (deprecated ::a.b.c.d); ::1 and :: are handled as themselves.
    if int(addr) >> 32 == 0 and int(addr) > 1:
        return ipaddress.IPv4Address(int(addr))
    return None


def is_public_address(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True for a globally routable unicast address (IPv4 forms inside IPv6 unwrapped first)."""
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.scope_id or addr.is_site_local:
            return False
        inner = _embedded_ipv4(addr)
        if inner is not None:
            return is_public_address(inner)
    elif addr in _CGNAT:
        return False
    if (
        addr.is_loopback
        or addr.is_private
        or addr.is_link_local
        or addr.is_multicast
        or addr.is_reserved
        or addr.is_unspecified
    ):
        return False
    return addr.is_global


def literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address a host literally spells, in any form a resolver would accept, else None.

    ``inet_aton`` accepts the legacy forms browsers and libc accept too: decimal (2130706433),
    octal (0177.0.0.1), hex (0x7f.1) and short (127.1).
    """
    h = host.strip("[]")
    if ":" not in h and (h[-1:] not in _IPV4_LAST or not _IPV4ISH.match(h)):
        # Only digits, hex letters, x and dots can spell an IPv4 address; a name with any other
        # letter is a host name (checked after resolution by the fetcher).
        return None
    try:
        return ipaddress.ip_address(h.split("%", 1)[0] if ":" in h else h)
    except ValueError:
        pass
    if ":" in h:
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(h))
    except OSError:
        return None


def _host_port(netloc: str) -> tuple[str | None, int | None]:
    """Lower-case host and port of a credential-free netloc; host ``None`` when malformed."""
    if netloc.startswith("["):
        end = netloc.find("]")
        if end < 0:
            return None, None
        host, rest = netloc[1:end], netloc[end + 1 :]
        if rest and not rest.startswith(":"):
            return None, None
        port = rest[1:]
    else:
        host, _, port = netloc.partition(":")
        if "[" in host or "]" in host:
            return None, None
    if port and (not (port.isascii() and port.isdigit()) or int(port) > 65535):
        return None, None
    return host.lower(), int(port) if port else None


def _unsafe(url: str, field: str, reason: str, hint: str | None = None) -> MediagateError:
    return MediagateError(
        "unsafe_source_url",
        f"{field} {reason}",
        field=field,
        got=url if len(url) <= 300 else url[:300] + "…",
        hint=hint,
    )


class ParsedURL(NamedTuple):
    """The parts of a checked http(s) URL that callers need."""

    scheme: str
    host: str
    port: int | None
    path: str


def split_http_url(url: str) -> ParsedURL | None:
    """Split an absolute http(s) URL; ``None`` when it is not one or is malformed.

    Deliberately strict and small (no relative forms, no backslashes), so that what we check is
    exactly what the fetcher later connects to.
    """
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in ("http", "https") or "\\" in url:
        return None
    end = len(rest)
    for ch in "/?#":
        i = rest.find(ch)
        if 0 <= i < end:
            end = i
    netloc, tail = rest[:end], rest[end:]
    if "@" in netloc:
        return ParsedURL(scheme, "@", None, "")
    path = tail
    for ch in "?#":
        i = path.find(ch)
        if i >= 0:
            path = path[:i]
    host, port = _host_port(netloc)
    if host is None:
        return None
    return ParsedURL(scheme, host, port, path)


def check_url(url: str, *, field: str, allow_private: bool = False) -> ParsedURL:
    """Return the parsed URL or raise ``unsafe_source_url``.

    http/https only; no user:password@; no host that is literally a non-public address or a
    well-known internal name, unless ``allow_private`` (tests and local setups).
    """
    if not url.isprintable() or " " in url:
        raise _unsafe(url, field, "contains whitespace or control characters.")
    parts = split_http_url(url)
    if parts is None:
        scheme = url.partition(":")[0].lower() if ":" in url else ""
        if scheme in ("http", "https"):
            raise _unsafe(url, field, "is not a valid URL.")
        local_hint = None
        if scheme in ("", "file") or url.startswith("/"):
            local_hint = "Local files are not accepted here; pass a public http(s) URL."
        raise _unsafe(url, field, "must be an http or https URL.", local_hint)
    host = parts.host
    if host == "@":
        raise _unsafe(url, field, "must not embed credentials (user:password@).")
    if not host:
        raise _unsafe(url, field, "has no host.")
    if allow_private:
        return parts
    name = host.rstrip(".")
    if name in _BLOCKED_NAMES or name.endswith((".localhost", ".internal", ".local")):
        raise _unsafe(url, field, f"points at an internal host ({name}).")
    addr = literal_address(name)
    if addr is not None and not is_public_address(addr):
        raise _unsafe(
            url,
            field,
            f"points at a non-public address ({addr}).",
            "Set MEDIAGATE_ALLOW_PRIVATE_URLS=true only for local test setups.",
        )
    return parts
