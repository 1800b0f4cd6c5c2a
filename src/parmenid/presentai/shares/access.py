"""Who may see a shared deck: the rate limits of the public routes, passwords, access tokens.

* Every public share route (JSON and HTML) counts against `share_rate_limit` per client IP.
* A password-protected link needs an access token (header `X-Share-Access`), which
  `POST /api/v1/share/{token}/unlock` gives for the right password; the HTML viewer takes the
  password in a form posted to the page itself. A password never travels in a URL.
* Wrong passwords are limited per link and client IP (`share_password_failures`); once the
  budget is spent, even the right password waits until the window moves on (429).
* Every answer of a public share route, errors included, carries `SECURITY_HEADERS`.
"""

from __future__ import annotations

from functools import lru_cache

from parmenid.core.errors import AppError, Text, Unauthorized
from parmenid.core.ratelimit import Decision, Limit
from parmenid.presentai.shares.crypto import ShareKeys, share_keys
from parmenid.presentai.shares.models import Share
from parmenid.runtime import Runtime

ACCESS_HEADER = "X-Share-Access"
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
}
PASSWORD_REQUIRED = Text(
    "This presentation is protected by a password: unlock it first "
    f"(POST .../unlock) and send the access token in the {ACCESS_HEADER} header.",
    "Презентация защищена паролем: сначала откройте её паролем "
    f"(POST .../unlock) и передайте токен доступа в заголовке {ACCESS_HEADER}.",
)
WRONG_PASSWORD = Text("The password is wrong.", "Неверный пароль.")
TOO_MANY_PASSWORDS = Text(
    "Too many wrong passwords. Please try again later.",
    "Слишком много неверных паролей. Попробуйте позже.",
)


def keys_of(runtime: Runtime) -> ShareKeys:
    return share_keys(runtime.settings.jwt_secret())


@lru_cache(maxsize=16)
def _limit(name: str, spec: str) -> Limit:
    return Limit.of(name, spec)


def secured(error: AppError) -> AppError:
    """`error` with the public share routes' headers."""
    error.headers = {**SECURITY_HEADERS, **error.headers}
    return error


async def public_request(runtime: Runtime, ip: str) -> Decision:
    """Count one public share request from `ip`; 429 `rate_limit_exceeded` when over."""
    limit = _limit("share_public", runtime.settings.presentai.share_rate_limit)
    decision = await runtime.limiter.hit(limit, ip)
    if not decision.allowed:
        raise secured(decision.refusal())
    return decision


async def check_password(runtime: Runtime, share: Share, password: str, ip: str) -> None:
    """Accept the right password; 401 for a wrong one, 429 once too many were wrong."""
    limit = _limit("share_password", runtime.settings.presentai.share_password_failures)
    refusal = await runtime.limiter.exhausted(limit, str(share.id), ip)
    if refusal is not None:
        raise secured(refusal.refusal(TOO_MANY_PASSWORDS))
    right = share.password_hash is None or (
        _encodable(password)
        and await runtime.identity.passwords.verify(share.password_hash, password)
    )
    if not right:
        await runtime.limiter.hit(limit, str(share.id), ip)
        raise secured(Unauthorized(WRONG_PASSWORD, extra={"password_required": True}))


def _encodable(password: str) -> bool:
    try:
        password.encode()
    except UnicodeEncodeError:  # a lone surrogate: no hash can match it
        return False
    return True


def has_access(keys: ShareKeys, share: Share, access_token: str | None) -> bool:
    if share.password_hash is None:
        return True
    return access_token is not None and keys.access_share_id(access_token) == share.id


def require_access(keys: ShareKeys, share: Share, access_token: str | None) -> None:
    """401 `unauthorized` with `password_required: true` unless the link may be seen."""
    if not has_access(keys, share, access_token):
        raise secured(Unauthorized(PASSWORD_REQUIRED, extra={"password_required": True}))
