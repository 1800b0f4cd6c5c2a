"""Imports every table so the metadata (migrations, tests) sees the whole schema."""

from parmenid.core.jobs import Job
from parmenid.identity.models import (
    AuthSession,
    EmailVerification,
    Invitation,
    Membership,
    Organization,
    RefreshToken,
    User,
)
from parmenid.knowledge.models import SourceDocument
from parmenid.llm.models import LLMTrace, PromptTemplate, TokenQuota
from parmenid.site.leads.models import PlanRequest

__all__ = [
    "AuthSession",
    "EmailVerification",
    "Invitation",
    "Job",
    "LLMTrace",
    "Membership",
    "Organization",
    "PlanRequest",
    "PromptTemplate",
    "RefreshToken",
    "SourceDocument",
    "TokenQuota",
    "User",
]
