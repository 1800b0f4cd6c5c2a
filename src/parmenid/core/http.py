"""The one outbound HTTP client: bounded timeouts and connection pool, our User-Agent.

The SSRF guard for user-supplied URLs (URL import, webhooks) is layered on this client by the
knowledge and webhook domains; Telegram and SMTP go to operator-configured hosts.
"""

from __future__ import annotations

import httpx

from parmenid import __version__

USER_AGENT = f"Parmenid/{__version__} (+https://parmenid.tech)"


def outbound_client(
    *, connect_timeout: float = 5.0, read_timeout: float = 20.0, max_connections: int = 100
) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=20),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
        trust_env=False,
    )
