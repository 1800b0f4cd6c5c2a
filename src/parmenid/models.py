"""Imports every table so the metadata (migrations, tests) sees the whole schema."""

from parmenid.core.downloads import PreparedFile
from parmenid.core.idempotency import IdempotencyRecord
from parmenid.core.jobs import Job
from parmenid.identity.api_keys import ApiKey
from parmenid.identity.audit import AuditEntry, PersonalDataKey
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
from parmenid.presentai.brand_kits.models import BrandKit
from parmenid.presentai.exports.models import ExportJob
from parmenid.presentai.generation.models import GenerationJob
from parmenid.presentai.oauth.models import OAuthConnection, OAuthState
from parmenid.presentai.presentations.models import Presentation, PresentationSource
from parmenid.presentai.projects.models import Project
from parmenid.presentai.shares.models import AnalyticsSalt, Share, ShareView
from parmenid.presentai.slides.models import Slide, SlideVersion
from parmenid.site.chat.models import Avatar, AvatarDocument, ChatMessage, ChatSession
from parmenid.site.leads.models import PlanRequest

__all__ = [
    "AnalyticsSalt",
    "ApiKey",
    "AuditEntry",
    "AuthSession",
    "Avatar",
    "AvatarDocument",
    "BrandKit",
    "ChatMessage",
    "ChatSession",
    "EmailVerification",
    "ExportJob",
    "GenerationJob",
    "IdempotencyRecord",
    "Invitation",
    "Job",
    "LLMTrace",
    "Membership",
    "OAuthConnection",
    "OAuthState",
    "Organization",
    "PersonalDataKey",
    "PlanRequest",
    "PreparedFile",
    "Presentation",
    "PresentationSource",
    "Project",
    "PromptTemplate",
    "RefreshToken",
    "Share",
    "ShareView",
    "Slide",
    "SlideVersion",
    "SourceDocument",
    "TokenQuota",
    "User",
]
