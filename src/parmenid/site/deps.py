"""The site's typed dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from parmenid.core.errors import Text
from parmenid.core.ratelimit import Limit
from parmenid.identity.auth import platform_admin, signed_in
from parmenid.identity.service import Principal
from parmenid.webapp import QuotaTicket, accepted_quota, rate_limit

# The contract's rate-limit table (site-api.md). "5 requests an hour" counts accepted leads, so a
# visitor who fixes a form after an error is not locked out; attempts have a looser guard.
PLAN_REQUESTS_LIMIT = Limit.of("plan_requests", "5/hour")
PLAN_REQUEST_ATTEMPTS_LIMIT = Limit.of("plan_request_attempts", "60/hour")
REGISTER_LIMIT = Limit.of("register", "10/minute")
LOGIN_LIMIT = Limit.of("login", "10/minute")

SiteUser = Annotated[Principal, Depends(signed_in(lambda runtime: runtime.site_audience))]
SiteAdmin = Annotated[Principal, Depends(platform_admin(lambda runtime: runtime.site_audience))]

ALREADY_SENT = Text(
    "You have already sent a request. We will definitely contact you!",
    "Вы уже отправили заявку. Мы обязательно свяжемся с вами!",
)

PlanRequestQuota = Annotated[
    QuotaTicket, Depends(accepted_quota(PLAN_REQUESTS_LIMIT, ALREADY_SENT))
]
plan_request_attempts_limit = Depends(rate_limit(PLAN_REQUEST_ATTEMPTS_LIMIT))
register_limit = Depends(rate_limit(REGISTER_LIMIT))
login_limit = Depends(rate_limit(LOGIN_LIMIT))
