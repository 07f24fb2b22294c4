"""Source URL safety by syntax (000 §trim_video errors: ``unsafe_source_url``).

"unsafe_source_url: source_url uses a non-http(s) scheme, contains embedded credentials, or
resolves to a private/loopback/metadata IP." Here: everything the URL text alone proves; names
that only resolve to private addresses are the fetcher's job.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mediagate.catalog import GenerationRequest
from mediagate.catalog.urls import check_url, classify, extension, is_public_address
from mediagate.errors import MediagateError

Accept = Callable[..., GenerationRequest]
Reject = Callable[..., MediagateError]

BAD_SCHEMES = [
    "file:///etc/passwd",
    "file://localhost/etc/hosts",
    "ftp://cdn.example.com/a.jpg",
    "gopher://cdn.example.com:70/_a",
    "data:image/png;base64,iVBORw0KGgo=",
    "javascript:alert(1)",
    "ws://cdn.example.com/a.jpg",
    "//cdn.example.com/a.jpg",
    "/etc/passwd",
    "cdn.example.com/a.jpg",
]
CREDENTIALS = [
    "https://user:secret@cdn.example.com/a.jpg",
    "https://user@cdn.example.com/a.jpg",
    "http://:secret@cdn.example.com/a.jpg",
    "https://user:secret@127.0.0.1/a.jpg",
]
PRIVATE_LITERALS = {
    "loopback": "http://127.0.0.1/a.jpg",
    "loopback-other": "http://127.10.20.30/a.jpg",
    "loopback-port": "http://127.0.0.1:8080/a.jpg",
    "private-10": "http://10.0.0.1/a.jpg",
    "private-172": "http://172.16.5.4/a.jpg",
    "private-192": "http://192.168.1.1/a.jpg",
    "link-local": "http://169.254.1.1/a.jpg",
    "metadata": "http://169.254.169.254/latest/meta-data/",
    "cgnat": "http://100.64.0.1/a.jpg",
    "cgnat-top": "http://100.127.255.254/a.jpg",
    "unspecified": "http://0.0.0.0/a.jpg",
    "zero": "http://0/a.jpg",
    "broadcast": "http://255.255.255.255/a.jpg",
    "multicast": "http://224.0.0.1/a.jpg",
    "decimal": "http://2130706433/a.jpg",
    "octal": "http://0177.0.0.1/a.jpg",
    "hex-dotted": "http://0x7f.0.0.1/a.jpg",
    "hex-whole": "http://0x7f000001/a.jpg",
    "short": "http://127.1/a.jpg",
    "short-private": "http://10.1/a.jpg",
    "trailing-dot": "http://127.0.0.1./a.jpg",
    "metadata-decimal": "http://2852039166/a.jpg",
    "ipv6-loopback": "http://[::1]/a.jpg",
    "ipv6-loopback-port": "http://[::1]:8443/a.jpg",
    "ipv6-unspecified": "http://[::]/a.jpg",
    "ipv4-mapped": "http://[::ffff:127.0.0.1]/a.jpg",
    "ipv4-mapped-hex": "http://[::ffff:7f00:1]/a.jpg",
    "ipv4-mapped-metadata": "http://[::ffff:169.254.169.254]/a.jpg",
    "ipv4-compatible": "http://[::127.0.0.1]/a.jpg",
    "nat64": "http://[64:ff9b::7f00:1]/a.jpg",
    "nat64-metadata": "http://[64:ff9b::a9fe:a9fe]/a.jpg",
    "6to4": "http://[2002:7f00:1::]/a.jpg",
    "6to4-private": "http://[2002:a00:1::]/a.jpg",
    "ipv6-link-local": "http://[fe80::1]/a.jpg",
    "ipv6-link-local-zone": "http://[fe80::1%25eth0]/a.jpg",
    "ipv6-unique-local": "http://[fd00::1]/a.jpg",
}
INTERNAL_NAMES = {
    "localhost": "http://localhost/a.jpg",
    "localhost-upper": "http://LOCALHOST:3000/a.jpg",
    "localhost-dot": "http://localhost./a.jpg",
    "sub-localhost": "http://app.localhost/a.jpg",
    "deep-localhost": "http://a.b.localhost/a.jpg",
    "gce-metadata": "http://metadata.google.internal/computeMetadata/v1/",
}
PUBLIC = {
    "hostname": "https://cdn.example.com/a.jpg",
    "hostname-port": "https://cdn.example.com:8443/a.jpg",
    "upper-scheme": "HTTPS://CDN.EXAMPLE.COM/A.JPG",
    "plain-http": "http://media.example.org/clip.mp4",
    "public-v4": "http://8.8.8.8/a.jpg",
    "public-v4-2": "https://1.1.1.1/a.png",
    "public-v6": "http://[2606:4700:4700::1111]/a.jpg",
    "public-mapped": "http://[::ffff:8.8.8.8]/a.jpg",
    "public-6to4": "http://[2002:808:808::]/a.jpg",
    "public-nat64": "http://[64:ff9b::808:808]/a.jpg",
    "digits-in-name": "https://127.0.0.1.nip.io/a.jpg",
    "hex-looking-name": "https://cafe.example/a.jpg",
    "decimal-public": "http://134744072/a.jpg",
    "query": "https://cdn.example.com/a.jpg?X-Amz-Signature=abc&x=1",
    "supabase": "https://project.supabase.co/storage/v1/object/public/media-inputs/u/t/abc.mp4",
}


def _refused(url: str, *, allow_private: bool = False) -> MediagateError:
    with pytest.raises(MediagateError) as info:
        check_url(url, field="source_url", allow_private=allow_private)
    err = info.value
    assert err.code == "unsafe_source_url"
    assert err.payload["field"] == "source_url"
    assert err.payload["message"]
    return err


@pytest.mark.parametrize("url", BAD_SCHEMES)
def test_non_http_schemes_are_unsafe(url: str) -> None:
    _refused(url)


@pytest.mark.parametrize("url", BAD_SCHEMES)
def test_non_http_schemes_stay_unsafe_when_private_urls_are_allowed(url: str) -> None:
    _refused(url, allow_private=True)


@pytest.mark.parametrize("url", ["file:///tmp/a.jpg", "/tmp/a.jpg"])
def test_local_paths_get_a_hint(url: str) -> None:
    assert "Local files" in _refused(url).payload["hint"]


@pytest.mark.parametrize("url", CREDENTIALS)
def test_embedded_credentials_are_unsafe(url: str) -> None:
    _refused(url)


@pytest.mark.parametrize("url", CREDENTIALS)
def test_embedded_credentials_stay_unsafe_when_private_urls_are_allowed(url: str) -> None:
    _refused(url, allow_private=True)


@pytest.mark.parametrize("url", PRIVATE_LITERALS.values(), ids=PRIVATE_LITERALS.keys())
def test_non_public_literal_addresses_are_unsafe(url: str) -> None:
    _refused(url)


@pytest.mark.parametrize("url", INTERNAL_NAMES.values(), ids=INTERNAL_NAMES.keys())
def test_internal_host_names_are_unsafe(url: str) -> None:
    _refused(url)


@pytest.mark.parametrize(
    "url",
    [*PRIVATE_LITERALS.values(), *INTERNAL_NAMES.values()],
    ids=[*PRIVATE_LITERALS, *INTERNAL_NAMES],
)
def test_allow_private_urls_relaxes_only_the_address_check(url: str) -> None:
    check_url(url, field="source_url", allow_private=True)


@pytest.mark.parametrize("url", PUBLIC.values(), ids=PUBLIC.keys())
def test_public_addresses_and_normal_host_names_pass(url: str) -> None:
    check_url(url, field="source_url")


@pytest.mark.parametrize(
    "url",
    [
        "http:///a.jpg",
        "https://",
        "http://[::1/a.jpg",
        "http://cdn.example.com:99999/a.jpg",
        "http://cdn.example.com:http/a.jpg",
        "https://cdn.example.com/a b.jpg",
        "https://cdn.example.com/a\n.jpg",
        "https://cdn.example.com/\x00.jpg",
    ],
    ids=["no-host", "empty", "open-bracket", "port-range", "port-name", "space", "newline", "nul"],
)
def test_malformed_urls_are_refused(url: str) -> None:
    _refused(url)


def test_unicode_digit_port_is_refused_cleanly() -> None:
    _refused("http://cdn.example.com:²/a.jpg")


def test_long_refused_urls_are_truncated_in_the_error() -> None:
    err = _refused("ftp://cdn.example.com/" + "a" * 1000)
    assert len(err.payload["got"]) <= 301


def test_unsafe_source_media_url_is_refused_by_validation(reject: Reject) -> None:
    err = reject(
        {"model": "nano-banana", "source_media_urls": ["http://169.254.169.254/a.jpg"]},
        "unsafe_source_url",
    )
    assert err.payload["field"] == "source_media_urls[0]"


@pytest.mark.parametrize(
    "url",
    ["ftp://cdn.example.com/a.jpg", "https://u:p@cdn.example.com/a.jpg"],
    ids=["scheme", "credentials"],
)
def test_validation_keeps_refusing_schemes_and_credentials_with_private_allowed(
    reject: Reject, url: str
) -> None:
    reject(
        {"model": "nano-banana", "source_media_urls": [url]},
        "unsafe_source_url",
        allow_private_urls=True,
    )


def test_validation_accepts_a_private_address_when_allowed(accept: Accept) -> None:
    request = accept(
        {"model": "nano-banana", "source_media_urls": ["http://[::1]:9000/a.png"]},
        allow_private_urls=True,
    )
    assert request.sources[0].kind == "image"


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("100.64.0.1", False),
        ("169.254.169.254", False),
        ("::ffff:10.0.0.1", False),
        ("64:ff9b::a00:1", False),
        ("2002:c0a8:101::", False),
        ("fc00::1", False),
        ("ff02::1", False),
    ],
)
def test_is_public_address_unwraps_embedded_ipv4(address: str, public: bool) -> None:
    import ipaddress

    assert is_public_address(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize(
    ("url", "ext", "kind"),
    [
        ("https://c.example/a.JPG", "jpg", "image"),
        ("https://c.example/a.jpeg?x=1.mp4", "jpeg", "image"),
        ("https://c.example/a.avif", "avif", "image"),
        ("https://c.example/a.M4V", "m4v", "video"),
        ("https://c.example/a.mov#t=1.png", "mov", "video"),
        ("https://c.example/a.ogg", "ogg", "audio"),
        ("https://c.example/a.aac", "aac", "audio"),
        ("https://c.example/a.tar.gz", "gz", None),
        ("https://c.example/folder.mp4/", "", None),
        ("https://c.example/", "", None),
    ],
)
def test_extension_and_kind_come_from_the_path_only(url: str, ext: str, kind: str | None) -> None:
    assert extension(url) == ext
    assert classify(url) == kind
