"""Rate limits with the `limits` library (moving window), in memory or in Redis.

A limited request is answered 429 with `Retry-After` and the IETF draft's `RateLimit-Policy` /
`RateLimit` headers; each app renders the error in its own envelope.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from starlette.requests import Request

from parmenid.core.errors import RateLimited, Text

TOO_MANY = Text(
    "Too many requests. Please try again later.",
    "Слишком много запросов. Попробуйте позже.",
)


@dataclass(frozen=True)
class Limit:
    """A named policy such as `plan_requests` = 5 per hour."""

    name: str
    item: RateLimitItem

    @classmethod
    def of(cls, name: str, spec: str) -> Limit:
        return cls(name, parse(spec))

    @property
    def window_seconds(self) -> int:
        return int(self.item.get_expiry())


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: Limit
    remaining: int
    reset_in: int

    def headers(self) -> dict[str, str]:
        name, quota, window = self.limit.name, self.limit.item.amount, self.limit.window_seconds
        headers = {
            "RateLimit-Policy": f'"{name}";q={quota};w={window}',
            "RateLimit": f'"{name}";r={self.remaining};t={self.reset_in}',
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(1, self.reset_in))
        return headers

    def refusal(self, message: Text = TOO_MANY) -> RateLimited:
        return RateLimited(
            message, extra={"retry_after": max(1, self.reset_in)}, headers=self.headers()
        )


def open_storage(url: str, key_prefix: str = "parmenid") -> Storage:
    """`memory://`, `redis://host:port/db` or `async+redis://...` (redis-py is the client).

    Keys in Redis start with `key_prefix`, so several deployments can share one server."""
    if url.startswith("memory://"):
        url = "async+memory://"
    elif url.startswith(("redis://", "rediss://")):
        url = "async+" + url
    options: dict[str, str] = (
        {"implementation": "redispy", "key_prefix": key_prefix}
        if url.startswith("async+redis")
        else {}
    )
    storage = storage_from_string(url, **options)
    if not isinstance(storage, Storage):
        raise ValueError(f"not an asynchronous rate-limit storage: {url}")
    return storage


class RateLimiter:
    def __init__(self, storage: Storage, *, enabled: bool = True) -> None:
        self.storage = storage
        self.strategy = MovingWindowRateLimiter(storage)
        self.enabled = enabled

    async def hit(self, limit: Limit, *key: str) -> Decision:
        """Count one request against `limit` for `key`; the decision says if it may proceed."""
        if not self.enabled:
            return Decision(True, limit, limit.item.amount, limit.window_seconds)
        allowed = await self.strategy.hit(limit.item, limit.name, *key)
        stats = await self.strategy.get_window_stats(limit.item, limit.name, *key)
        reset_in = max(0, math.ceil(stats.reset_time - time.time()))
        return Decision(allowed, limit, max(0, stats.remaining), reset_in)

    async def enforce(self, limit: Limit, *key: str) -> Decision:
        """Like `hit`, but raises `RateLimited` (with the headers) when over the limit."""
        decision = await self.hit(limit, *key)
        if not decision.allowed:
            raise decision.refusal()
        return decision

    async def exhausted(self, limit: Limit, *key: str) -> Decision | None:
        """Without counting: the refusal to give if `key` has no budget left, else None."""
        if not self.enabled or await self.strategy.test(limit.item, limit.name, *key):
            return None
        stats = await self.strategy.get_window_stats(limit.item, limit.name, *key)
        reset_in = max(1, math.ceil(stats.reset_time - time.time()))
        return Decision(False, limit, 0, reset_in)

    async def clear(self, limit: Limit, *key: str) -> None:
        await self.strategy.clear(limit.item, limit.name, *key)

    async def reset(self) -> None:
        await self.storage.reset()


Network = IPv4Network | IPv6Network


def client_ip(request: Request, trusted_proxies: list[Network]) -> str:
    """The client's address, taking `X-Forwarded-For` into account only behind a trusted proxy.

    The forwarded chain is read from the right; the first hop that is not itself a trusted proxy
    is the client. A request that does not come from a trusted proxy is taken at its word of
    nothing: its own peer address is used.
    """
    peer = request.client.host if request.client else "unknown"
    if not _is_trusted(peer, trusted_proxies):
        return peer
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not _is_trusted(hop, trusted_proxies):
                return _valid_ip(hop) or peer
        return _valid_ip(hops[0]) or peer if hops else peer
    real_ip = request.headers.get("x-real-ip")
    if real_ip:
        return _valid_ip(real_ip.strip()) or peer
    return peer


def _valid_ip(value: str) -> str | None:
    try:
        return str(ip_address(value))
    except ValueError:
        return None


def _is_trusted(value: str, networks: list[Network]) -> bool:
    try:
        address: IPv4Address | IPv6Address = ip_address(value)
    except ValueError:
        return False
    return any(address in network for network in networks)
