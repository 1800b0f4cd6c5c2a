"""`/api/v1/avatars`: the admin API of chat bots — settings, knowledge documents, conversations.

Callers are signed-in users of the site (bearer JWT) acting by their role in the avatar's
organization: viewers read, editors manage documents, admins and owners create, change and
delete avatars and read conversations. Another organization's avatar answers 404; a role too low
answers 403 FORBIDDEN with `required` and `current`. The rules live in `AvatarService`.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from parmenid.core.errors import (
    ServiceUnavailable,
    Text,
)
from parmenid.core.observability import request_id_of
from parmenid.core.safe_fetch import FetchPolicy
from parmenid.core.storage import ObjectStorage
from parmenid.core.uploads import multipart_body, read_upload
from parmenid.core.web import field_error, require_json
from parmenid.identity.audit import Actor, AuditLog
from parmenid.identity.models import Role
from parmenid.identity.organizations import OrganizationService
from parmenid.identity.service import Principal
from parmenid.knowledge.models import SourceDocument
from parmenid.runtime import Runtime
from parmenid.site.chat.avatars import AvatarService
from parmenid.site.chat.endpoints import History, message_out
from parmenid.site.chat.models import Avatar, ChatSession
from parmenid.site.chat.service import ChatService
from parmenid.site.deps import SiteUser
from parmenid.webapp import RuntimeDep, SessionDep, ip_of

if TYPE_CHECKING:
    pass

router = APIRouter(prefix="/avatars", tags=["Avatars (admin)"])

# The upload's path (under the API prefix): the JSON body cap does not apply to it.
UPLOAD_PATH = r"/avatars/[^/]+/documents"
UPLOAD_FIELD = "file"
# Part headers, boundaries and small fields allowed on top of the file itself.

JSON_BODY = [Depends(require_json)]
Responses = dict[int | str, dict[str, Any]]
NOT_FOUND: Responses = {404: {"description": "NOT_FOUND: no such avatar in your organizations"}}
FORBIDDEN: Responses = {
    403: {"description": "FORBIDDEN: your role is too low (`required`, `current`)"}
}
GUARDED = {**NOT_FOUND, **FORBIDDEN}


# --- who is calling ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AvatarAccess:
    """An avatar and the caller's role in its organization."""

    avatar: Avatar
    role: Role
    principal: Principal


def avatar_access(required: Role) -> Callable[..., Awaitable[AvatarAccess]]:
    async def access(avatar_id: uuid.UUID, user: SiteUser, session: SessionDep) -> AvatarAccess:
        service = AvatarService(session)
        avatar, role = await service.for_member(avatar_id, user.user.id, required)
        return AvatarAccess(avatar, role, user)

    return access


AvatarViewer = Annotated[AvatarAccess, Depends(avatar_access(Role.VIEWER))]
AvatarEditor = Annotated[AvatarAccess, Depends(avatar_access(Role.EDITOR))]
AvatarAdmin = Annotated[AvatarAccess, Depends(avatar_access(Role.ADMIN))]


async def _audit(
    session: SessionDep,
    request: Request,
    principal: Principal,
    action: str,
    avatar: Avatar,
    changes: dict[str, Any] | SourceDocument | None = None,
) -> None:
    """Records who changed the avatar; a document is noted by its id and name."""
    if isinstance(changes, SourceDocument):
        changes = {"document_id": str(changes.id), "filename": changes.filename}
    await AuditLog(session).record(
        actor=Actor.user(principal.user.id),
        action=action,
        organization_id=avatar.organization_id,
        target_type="avatar",
        target_id=str(avatar.id),
        changes=changes,
        ip=ip_of(request),
        user_agent=request.headers.get("user-agent"),
        request_id=request_id_of(request),
    )


def _storage(runtime: Runtime) -> ObjectStorage:
    if runtime.storage is None:
        raise ServiceUnavailable(
            Text("File storage is not configured.", "Хранилище файлов не настроено.")
        )
    return runtime.storage


# --- schemas -----------------------------------------------------------------------------------

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
OriginText = Annotated[str, StringConstraints(max_length=300)]
NULLABLE = frozenset({"description", "avatar_image_url"})


class AvatarFields(BaseModel):
    """An avatar's settings; a field left out keeps its value (or default)."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    description: str | None = Field(None, max_length=500)
    avatar_image_url: str | None = Field(None, max_length=1000, description="http(s) address")
    primary_color: str | None = Field(None, description="Hex color like #3B82F6")
    welcome_message: str | None = Field(None, max_length=500)
    system_prompt: str | None = Field(None, max_length=20_000)
    language: Literal["ru", "en"] | None = None
    allowed_origins: list[OriginText] | None = Field(
        None,
        max_length=50,
        description="Sites allowed to embed the chat (`https://example.com`); empty: any.",
    )
    is_active: bool | None = None
    max_messages_per_session: int | None = Field(None, ge=1, le=500)
    max_message_chars: int | None = Field(None, ge=1, le=10_000)

    @field_validator("*")
    @classmethod
    def _not_null(cls, value: Any, info: ValidationInfo) -> Any:
        """Only some settings may be cleared with null (a field left out is not validated)."""
        name = info.field_name
        if value is None and name not in NULLABLE:
            raise field_error(
                "null_not_allowed",
                Text(f"{name}: must not be null", f"{name}: значение не может быть null"),
            )
        return value


class AvatarCreate(AvatarFields):
    organization_id: uuid.UUID
    name: Name


class AvatarUpdate(AvatarFields):
    pass


class AvatarOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    description: str | None
    avatar_image_url: str | None
    primary_color: str
    welcome_message: str
    system_prompt: str
    language: str
    allowed_origins: list[str] = Field(validation_alias=AliasChoices("origins", "allowed_origins"))
    is_active: bool
    max_messages_per_session: int
    max_message_chars: int
    created_at: datetime
    updated_at: datetime


class AvatarList(BaseModel):
    items: list[AvatarOut]


class DocumentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    filename: str
    kind: str | None
    size_bytes: int
    source_url: str | None
    ingestion_status: Literal["pending", "processing", "indexed", "failed"]
    chunks_created: int
    error_code: str | None
    error_message: str | None
    created_at: datetime
    indexed_at: datetime | None


class DocumentList(BaseModel):
    items: list[DocumentOut]


class DocumentUrl(BaseModel):
    url: str = Field(min_length=1, max_length=2000, description="An http(s) address")


class ChatSessionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    source: str
    is_active: bool
    messages_count: int
    origin: str | None
    created_at: datetime
    last_message_at: datetime | None


class ChatSessionPage(BaseModel):
    items: list[ChatSessionOut]
    total: int
    limit: int
    offset: int


# --- avatars -----------------------------------------------------------------------------------


@router.post(
    "",
    status_code=201,
    response_model=AvatarOut,
    summary="Create an avatar",
    dependencies=JSON_BODY,
    responses={**FORBIDDEN, 404: {"description": "NOT_FOUND: not a member of the organization"}},
)
async def create_avatar(
    body: AvatarCreate, principal: SiteUser, session: SessionDep, request: Request
) -> AvatarOut:
    """A new chat bot of an organization where you are an admin or the owner."""
    service = AvatarService(session)
    await service.role_in(body.organization_id, principal.user.id, Role.ADMIN)
    fields = body.model_dump(exclude_unset=True, exclude={"organization_id"})
    avatar = await service.create(body.organization_id, principal.user.id, fields)
    await _audit(session, request, principal, "avatar.created", avatar, {"name": avatar.name})
    return AvatarOut.model_validate(avatar)


@router.get("", response_model=AvatarList, summary="List avatars")
async def list_avatars(
    principal: SiteUser,
    session: SessionDep,
    organization_id: Annotated[uuid.UUID | None, Query()] = None,
) -> AvatarList:
    """The avatars of `organization_id`, or of every organization you are a member of."""
    service = AvatarService(session)
    if organization_id is not None:
        await service.role_in(organization_id, principal.user.id)
        organizations = [organization_id]
    else:
        memberships = await OrganizationService(session).of_user(principal.user)
        organizations = [organization.id for organization, _ in memberships]
    avatars = await service.of_organizations(organizations) if organizations else []
    return AvatarList(items=[AvatarOut.model_validate(avatar) for avatar in avatars])


@router.get("/{avatar_id}", response_model=AvatarOut, summary="Get an avatar", responses=NOT_FOUND)
async def get_avatar(access: AvatarViewer) -> AvatarOut:
    return AvatarOut.model_validate(access.avatar)


@router.patch(
    "/{avatar_id}",
    response_model=AvatarOut,
    summary="Change an avatar",
    dependencies=JSON_BODY,
    responses=GUARDED,
)
async def update_avatar(
    body: AvatarUpdate, access: AvatarAdmin, session: SessionDep, request: Request
) -> AvatarOut:
    """Changes only the fields sent."""
    fields = body.model_dump(exclude_unset=True)
    avatar = await AvatarService(session).update(access.avatar, fields)
    await _audit(
        session, request, access.principal, "avatar.updated", avatar, {"fields": sorted(fields)}
    )
    return AvatarOut.model_validate(avatar)


@router.delete(
    "/{avatar_id}",
    status_code=204,
    response_class=Response,
    summary="Delete an avatar",
    responses=GUARDED,
)
async def delete_avatar(access: AvatarAdmin, session: SessionDep, request: Request) -> Response:
    """Deletes the avatar, its conversations and its documents."""
    await _audit(session, request, access.principal, "avatar.deleted", access.avatar)
    await AvatarService(session).delete(access.avatar)
    return Response(status_code=204)


# --- documents ---------------------------------------------------------------------------------


UPLOAD_BODY = multipart_body(UPLOAD_FIELD)
UPLOAD_ERRORS: Responses = {
    **GUARDED,
    413: {"description": "PAYLOAD_TOO_LARGE: over the upload limit (`max_bytes`)"},
    415: {"description": "UNSUPPORTED_MEDIA_TYPE: not a PDF, DOCX, PPTX, XLSX, HTML or text"},
    422: {"description": "VALIDATION_ERROR: no file, or an empty or damaged one"},
}


@router.post(
    "/{avatar_id}/documents",
    status_code=202,
    response_model=DocumentOut,
    summary="Upload a knowledge document",
    openapi_extra=UPLOAD_BODY,
    responses=UPLOAD_ERRORS,
)
async def upload_document(
    access: AvatarEditor,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> DocumentOut:
    """A file (`multipart/form-data`, field `file`) the avatar will answer from once it is
    indexed; watch `ingestion_status` in the document list. The type is read from the content."""
    limit = runtime.settings.knowledge.max_upload_bytes
    await session.commit()  # no database connection is held while the file arrives
    filename, data = await read_upload(request, UPLOAD_FIELD, limit)
    service = AvatarService(session)
    avatar = await service.get(access.avatar.id, fresh=True)  # it may have gone meanwhile
    document = await service.add_document(
        avatar, _storage(runtime), filename, data, created_by=access.principal.user.id
    )
    await _audit(session, request, access.principal, "avatar.document_added", avatar, document)
    return DocumentOut.model_validate(document)


@router.post(
    "/{avatar_id}/documents/url",
    status_code=202,
    response_model=DocumentOut,
    summary="Add a knowledge document from a web address",
    dependencies=JSON_BODY,
    responses={
        **GUARDED,
        415: {"description": "UNSUPPORTED_MEDIA_TYPE: the address serves an unsupported type"},
        422: {"description": "VALIDATION_ERROR: the address was refused or could not be read"},
    },
)
async def add_document_from_url(
    body: DocumentUrl,
    access: AvatarEditor,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> DocumentOut:
    """Downloads the page or file (public addresses only) and ingests it like an upload."""
    knowledge = runtime.settings.knowledge
    policy = FetchPolicy(
        allow_loopback=knowledge.allow_loopback_urls, max_bytes=knowledge.max_upload_bytes
    )
    await session.commit()  # no database connection is held during the download
    service = AvatarService(session)
    document = await service.add_document_from_url(
        await service.get(access.avatar.id, fresh=True),
        _storage(runtime),
        body.url.strip(),
        client=runtime.http,
        policy=policy,
        created_by=access.principal.user.id,
    )
    await _audit(
        session, request, access.principal, "avatar.document_added", access.avatar, document
    )
    return DocumentOut.model_validate(document)


@router.get(
    "/{avatar_id}/documents",
    response_model=DocumentList,
    summary="List an avatar's documents",
    responses=NOT_FOUND,
)
async def list_documents(access: AvatarViewer, session: SessionDep) -> DocumentList:
    """Oldest first, with their ingestion status."""
    documents = await AvatarService(session).documents(access.avatar)
    return DocumentList(items=[DocumentOut.model_validate(d) for d in documents])


@router.delete(
    "/{avatar_id}/documents/{document_id}",
    status_code=204,
    response_class=Response,
    summary="Remove a document",
    responses=GUARDED,
)
async def remove_document(
    document_id: uuid.UUID, access: AvatarEditor, session: SessionDep, request: Request
) -> Response:
    """The avatar stops answering from it at once; its file and index entries are deleted."""
    await AvatarService(session).remove_document(access.avatar, document_id)
    noted = {"document_id": str(document_id)}
    await _audit(
        session, request, access.principal, "avatar.document_removed", access.avatar, noted
    )
    return Response(status_code=204)


# --- conversations -----------------------------------------------------------------------------


@router.get(
    "/{avatar_id}/sessions",
    response_model=ChatSessionPage,
    summary="List an avatar's conversations",
    responses=GUARDED,
)
async def list_sessions(
    access: AvatarAdmin,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ChatSessionPage:
    """Newest first."""
    rows, total = await AvatarService(session).sessions(access.avatar, limit=limit, offset=offset)
    return ChatSessionPage(
        items=[ChatSessionOut.model_validate(row) for row in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/{avatar_id}/sessions/{session_id}/messages",
    response_model=History,
    summary="Read a conversation",
    responses=GUARDED,
)
async def session_transcript(
    session_id: uuid.UUID, access: AvatarAdmin, session: SessionDep
) -> History:
    """The whole conversation, oldest first, with the sources each answer cited."""
    chat: ChatSession = await AvatarService(session).session_of(access.avatar, session_id)
    messages = await ChatService(session).transcript(chat)
    return History(session_id=chat.id, messages=[message_out(m) for m in messages])
