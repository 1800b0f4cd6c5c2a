"""Fetch a user-supplied URL without letting it reach our own network (the SSRF guard).

Rules, in the order they are applied to the first URL and again to every redirect target:

1. The URL must parse, use an allowed scheme (http/https), carry no user name or password and
   contain no backslashes, whitespace or control characters (parsers disagree about those, and a
   disagreement is exactly what an attacker needs).
2. The host is resolved first. Numeric IPv4 spellings that `inet_aton` accepts (`127.1`,
   `2130706433`, `0x7f000001`, `017700000001`) are decoded here, without DNS, so that an
   injected resolver cannot be tricked by them; `localhost` and `*.localhost` are loopback by
   definition; every other name goes to the resolver (the system one by default).
3. EVERY resolved address must be allowed (see `is_forbidden_address`); one bad answer among good
   ones refuses the URL, so that a round-robin answer cannot smuggle in a private address.
4. The request goes to the exact address that was checked (DNS rebinding cannot swap it): the
   request URL carries the IP, the `Host` header carries the name and, for https, the
   `sni_hostname` request extension makes httpcore send the name as SNI and verify the
   certificate against the name (the client's SSL context keeps `check_hostname`).
   `Connection: close` stops the pool from reusing that connection for another name that happens
   to share the IP (the TLS session was verified for one name only).
5. Redirects are followed by hand, each target re-checked from rule 1, at most
   `policy.max_redirects` hops.
6. The body is streamed and cut at `policy.max_bytes` (a larger `Content-Length` is refused before
   reading); `policy.total_timeout` bounds the whole fetch including DNS and redirects.

Loopback and private addresses are allowed only by an explicit `FetchPolicy` flag meant for
development and tests; link-local, metadata and the other special ranges are never allowed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass, field
from typing import Protocol

import httpx

from parmenid.core.http import USER_AGENT

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Reason categories returned by `is_forbidden_address`.
LOOPBACK = "loopback"
PRIVATE = "private"
LINK_LOCAL = "link-local"
METADATA = "metadata"
SHARED = "carrier-grade NAT"
UNSPECIFIED = "unspecified"
MULTICAST = "multicast"
RESERVED = "reserved"
BENCHMARKING = "benchmarking"
DOCUMENTATION = "documentation"

_DESCRIPTIONS = {
    LOOPBACK: "this machine (loopback)",
    PRIVATE: "a private network",
    LINK_LOCAL: "a link-local network",
    METADATA: "a cloud metadata service",
    SHARED: "a carrier-grade NAT network",
    UNSPECIFIED: "an unspecified address",
    MULTICAST: "a multicast address",
    RESERVED: "a reserved, non-public address",
    BENCHMARKING: "a benchmarking network",
    DOCUMENTATION: "a documentation-only network",
}

_METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, ...
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS IPv6
        "100.100.100.200",  # Alibaba Cloud
    )
)

_V4_NETWORKS: tuple[tuple[ipaddress.IPv4Network, str], ...] = (
    (ipaddress.IPv4Network("0.0.0.0/8"), UNSPECIFIED),
    (ipaddress.IPv4Network("127.0.0.0/8"), LOOPBACK),
    (ipaddress.IPv4Network("10.0.0.0/8"), PRIVATE),
    (ipaddress.IPv4Network("172.16.0.0/12"), PRIVATE),
    (ipaddress.IPv4Network("192.168.0.0/16"), PRIVATE),
    (ipaddress.IPv4Network("100.64.0.0/10"), SHARED),
    (ipaddress.IPv4Network("169.254.0.0/16"), LINK_LOCAL),
    (ipaddress.IPv4Network("198.18.0.0/15"), BENCHMARKING),
    (ipaddress.IPv4Network("192.0.2.0/24"), DOCUMENTATION),
    (ipaddress.IPv4Network("198.51.100.0/24"), DOCUMENTATION),
    (ipaddress.IPv4Network("203.0.113.0/24"), DOCUMENTATION),
    (ipaddress.IPv4Network("192.0.0.0/24"), RESERVED),  # IETF protocol assignments
    (ipaddress.IPv4Network("224.0.0.0/4"), MULTICAST),
    (ipaddress.IPv4Network("240.0.0.0/4"), RESERVED),  # includes 255.255.255.255
)
_V6_NETWORKS: tuple[tuple[ipaddress.IPv6Network, str], ...] = (
    (ipaddress.IPv6Network("::1/128"), LOOPBACK),
    (ipaddress.IPv6Network("::/128"), UNSPECIFIED),
    (ipaddress.IPv6Network("fc00::/7"), PRIVATE),
    (ipaddress.IPv6Network("fe80::/10"), LINK_LOCAL),
    (ipaddress.IPv6Network("fec0::/10"), PRIVATE),  # deprecated site-local
    (ipaddress.IPv6Network("ff00::/8"), MULTICAST),
    (ipaddress.IPv6Network("2001:db8::/32"), DOCUMENTATION),
    (ipaddress.IPv6Network("3fff::/20"), DOCUMENTATION),
    (ipaddress.IPv6Network("2001:2::/48"), BENCHMARKING),
)
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")

_DEFAULT_PORTS = {"http": 80, "https": 443}
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_BAD_URL_CHARS = re.compile(r"[\\\s\x00-\x1f\x7f]")
_NUMERIC_PART = re.compile(r"(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")


@dataclass(frozen=True)
class FetchPolicy:
    """Limits for one fetch. The two `allow_*` flags exist for development and tests only."""

    allow_loopback: bool = False
    allow_private: bool = False
    max_redirects: int = 3
    max_bytes: int = 50 * 1024 * 1024
    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    total_timeout: float = 60.0
    allowed_schemes: tuple[str, ...] = ("http", "https")
    allowed_ports: frozenset[int] | None = None  # None: any port


@dataclass(frozen=True)
class FetchedResource:
    final_url: str
    status: int
    content_type: str | None
    content: bytes
    redirects: list[str] = field(default_factory=list)


class FetchRefused(Exception):
    """The URL was not fetched. `code` is stable (for programs), `reason` is for people.

    Codes: bad_url, scheme_not_allowed, address_not_allowed, dns_failed, connection_failed,
    too_many_redirects, too_large, timeout, http_error.
    """

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


class Resolver(Protocol):
    async def resolve(self, host: str, port: int) -> list[str]:
        """All addresses `host` resolves to (may raise `OSError`/`socket.gaierror`)."""
        ...


class SystemResolver:
    """The system resolver (`getaddrinfo`), the same one a plain connection would use."""

    async def resolve(self, host: str, port: int) -> list[str]:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
        return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_forbidden_address(ip: IPAddress | str) -> str | None:
    """The category that forbids `ip` (see the module constants), or None for a public address.

    IPv6 forms that carry an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible
    `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`, Teredo) are unwrapped and the IPv4
    address is judged. Anything not globally routable that no rule names is `reserved`.
    """
    if isinstance(ip, str):
        ip = ipaddress.ip_address(ip)
    if ip in _METADATA_ADDRESSES:
        return METADATA
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id is not None:
            ip = ipaddress.IPv6Address(ip.packed)
            if ip in _METADATA_ADDRESSES:
                return METADATA
        for network6, category in _V6_NETWORKS:
            if ip in network6:
                return category
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            inner = is_forbidden_address(embedded)
            if inner is not None:
                return inner
            if ip.ipv4_mapped is not None or any(ip in net for net in _NAT64):
                return None  # reaches the (public) IPv4 address, judged above
            if ip.sixtofour is not None:
                return None
            return RESERVED  # IPv4-compatible (deprecated) and Teredo: never needed
    else:
        for network4, category in _V4_NETWORKS:
            if ip in network4:
                return category
    if ip.is_loopback:
        return LOOPBACK
    if ip.is_link_local:
        return LINK_LOCAL
    if ip.is_multicast:
        return MULTICAST
    if ip.is_unspecified:
        return UNSPECIFIED
    if ip.is_private:
        return PRIVATE
    if ip.is_reserved or not ip.is_global:
        return RESERVED
    return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if any(ip in net for net in _NAT64) or ip in _IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def parse_numeric_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """Decode the IPv4 spellings `inet_aton` accepts: 1-4 dot-separated parts, each decimal,
    octal (leading 0) or hex (0x); the last part fills the remaining bytes (`127.1`,
    `2130706433`, `0x7f.0.0.1`, `017700000001`). None if `host` is not such a number."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(_NUMERIC_PART.fullmatch(p) for p in parts):
        return None
    values = [
        int(p, 0) if p[:2].lower() == "0x" else int(p, 8) if p[:1] == "0" else int(p) for p in parts
    ]
    *head, last = values
    if any(v > 0xFF for v in head) or last >= 1 << (8 * (4 - len(head))):
        return None
    number = 0
    for v in head:
        number = number << 8 | v
    return ipaddress.IPv4Address(number << (8 * (4 - len(head))) | last)


@dataclass(frozen=True)
class _Target:
    """A checked URL: what the person asked for and the address we will connect to."""

    url: httpx.URL
    host: str  # ASCII (IDNA) host, no brackets, no trailing dot
    port: int
    address: IPAddress


def _parse(raw: str, policy: FetchPolicy) -> tuple[httpx.URL, str, int]:
    if _BAD_URL_CHARS.search(raw):
        raise FetchRefused(
            "bad_url", "The address contains spaces, backslashes or control characters."
        )
    try:
        url = httpx.URL(raw)
    except (httpx.InvalidURL, ValueError, UnicodeError) as exc:
        raise FetchRefused("bad_url", "This is not a valid web address.") from exc
    scheme = url.scheme.lower()
    if scheme not in policy.allowed_schemes or scheme not in _DEFAULT_PORTS:
        allowed = ", ".join(policy.allowed_schemes)
        raise FetchRefused(
            "scheme_not_allowed",
            f"Only {allowed} addresses can be fetched, not {scheme or 'this kind of'} addresses.",
        )
    if url.userinfo:
        raise FetchRefused("bad_url", "Addresses with a user name or password are not supported.")
    host = url.raw_host.decode("ascii").rstrip(".").lower()  # IDNA-encoded already
    if not host or "%" in host:
        raise FetchRefused("bad_url", "The address has no valid host name.")
    port = url.port or _DEFAULT_PORTS[scheme]
    if not 0 < port < 65536:
        raise FetchRefused("bad_url", "The address has an invalid port.")
    if policy.allowed_ports is not None and port not in policy.allowed_ports:
        raise FetchRefused("address_not_allowed", f"Port {port} is not allowed.")
    return url, host, port


def _refuse_address(ip: IPAddress, policy: FetchPolicy) -> FetchRefused | None:
    category = is_forbidden_address(ip)
    if category is None:
        return None
    if category == LOOPBACK and policy.allow_loopback:
        return None
    if category in (PRIVATE, SHARED) and policy.allow_private:
        return None
    return FetchRefused(
        "address_not_allowed",
        f"The address resolves to {_DESCRIPTIONS[category]} ({ip}), which is not allowed.",
    )


async def _check(raw: str, policy: FetchPolicy, resolver: Resolver) -> _Target:
    url, host, port = _parse(raw, policy)
    literal: IPAddress | None
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = parse_numeric_ipv4(host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    elif host == "localhost" or host.endswith(".localhost"):
        addresses = [ipaddress.IPv4Address("127.0.0.1")]
    else:
        try:
            async with asyncio.timeout(policy.connect_timeout):
                answers = await resolver.resolve(host, port)
            addresses = [ipaddress.ip_address(a) for a in answers]
        except TimeoutError as exc:
            raise FetchRefused("timeout", f"Looking up {host} took too long.") from exc
        except (OSError, ValueError) as exc:
            raise FetchRefused("dns_failed", f"The host name {host} could not be found.") from exc
        if not addresses:
            raise FetchRefused("dns_failed", f"The host name {host} could not be found.")
    for address in addresses:
        refused = _refuse_address(address, policy)
        if refused is not None:
            raise refused
    return _Target(url=url, host=host, port=port, address=addresses[0])


def _pinned_request(target: _Target, policy: FetchPolicy) -> httpx.Request:
    """A GET for `target.url` that connects to `target.address` and nowhere else.

    The URL carries the checked IP; `Host` carries the name; for https `sni_hostname` makes the
    TLS handshake use (and the certificate be verified against) the name, not the IP.
    """
    scheme = target.url.scheme.lower()
    default_port = _DEFAULT_PORTS[scheme]
    host_header = target.host if target.port == default_port else f"{target.host}:{target.port}"
    extensions: dict[str, object] = {
        "timeout": httpx.Timeout(
            policy.read_timeout, connect=policy.connect_timeout, pool=policy.connect_timeout
        ).as_dict()
    }
    if scheme == "https":
        extensions["sni_hostname"] = target.host
    pinned = target.url.copy_with(scheme=scheme, host=str(target.address), port=target.port)
    return httpx.Request(
        "GET",
        pinned,
        headers={
            "Host": host_header,
            "User-Agent": USER_AGENT,
            "Accept": "*/*",
            "Accept-Encoding": "identity",
            "Connection": "close",
        },
        extensions=extensions,
    )


async def fetch(
    url: str,
    *,
    client: httpx.AsyncClient,
    policy: FetchPolicy,
    resolver: Resolver | None = None,
) -> FetchedResource:
    """GET `url` under the SSRF guard (see the module docstring); raise `FetchRefused` if not.

    `client` should be `outbound_client()`; its cookies, auth and default headers are not used
    (each request is built here), and redirects are followed here, never by the client.
    """
    try:
        async with asyncio.timeout(policy.total_timeout):
            return await _fetch(url, client, policy, resolver or SystemResolver())
    except TimeoutError as exc:
        raise FetchRefused(
            "timeout", f"The site did not answer within {policy.total_timeout:g} seconds."
        ) from exc


async def _fetch(
    url: str, client: httpx.AsyncClient, policy: FetchPolicy, resolver: Resolver
) -> FetchedResource:
    redirects: list[str] = []
    current = url
    while True:
        target = await _check(current, policy, resolver)
        request = _pinned_request(target, policy)
        try:
            response = await client.send(request, stream=True, follow_redirects=False)
        except httpx.TimeoutException as exc:
            raise FetchRefused("timeout", f"{target.host} did not answer in time.") from exc
        except httpx.HTTPError as exc:
            raise FetchRefused("connection_failed", f"Could not connect to {target.host}.") from exc
        try:
            location = response.headers.get("location")
            if response.status_code in _REDIRECT_STATUSES and location:
                if len(redirects) >= policy.max_redirects:
                    raise FetchRefused(
                        "too_many_redirects",
                        f"The address redirects more than {policy.max_redirects} times.",
                    )
                try:
                    current = str(target.url.join(location))
                except (httpx.InvalidURL, ValueError, UnicodeError) as exc:
                    raise FetchRefused(
                        "bad_url", "The site redirects to an invalid address."
                    ) from exc
                redirects.append(current)
                continue
            if not 200 <= response.status_code < 300:
                raise FetchRefused(
                    "http_error", f"The site answered with HTTP status {response.status_code}."
                )
            content = await _read_capped(response, policy, target.host)
            return FetchedResource(
                final_url=str(target.url),
                status=response.status_code,
                content_type=response.headers.get("content-type"),
                content=content,
                redirects=redirects,
            )
        finally:
            await response.aclose()


async def _read_capped(response: httpx.Response, policy: FetchPolicy, host: str) -> bytes:
    too_large = FetchRefused(
        "too_large", f"The document is larger than {_size(policy.max_bytes)}, the limit."
    )
    declared = response.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > policy.max_bytes:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > policy.max_bytes:
                raise too_large
            chunks.append(chunk)
    except httpx.TimeoutException as exc:
        raise FetchRefused("timeout", f"{host} stopped sending in the middle.") from exc
    except httpx.HTTPError as exc:
        raise FetchRefused("connection_failed", f"The download from {host} broke off.") from exc
    return b"".join(chunks)


def _size(n: int) -> str:
    if n >= 1024 * 1024 and n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)} MiB"
    return f"{n} bytes"
