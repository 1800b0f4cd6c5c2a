"""Object storage: files people upload and files jobs build, stored by key.

Two backends with one contract (the shared suite `tests/core/test_storage_contract.py` runs
against both):

* `LocalStorage`, a directory (the embedded default, `DATA_DIR/files`);
* `S3Storage`, a bucket of any S3-API server (AWS, MinIO, Ceph, ...), selected by
  `PARMENID_STORAGE__S3_BUCKET`.

The contract: a key is a relative path of ASCII letters, digits and `._-/` (no `..` segment,
at most 501 characters), anything else raises `UnsafeKey` before storage is touched; `put`
replaces an object as a whole (readers never see half of one); `get` of a missing key raises
`ObjectNotFound` (a `FileNotFoundError`); `delete` of a missing key does nothing; `exists` says
whether a key holds an object. A backend that cannot be reached raises `StorageUnavailable`
(503 `storage_unavailable`) after its own retries.

Files are never handed out by storage URLs: downloads go through the API's signed, expiring
links (`/api/v1/downloads/{token}`), which read the object here and serve it. So one link
format and one expiry rule (410 `gone`) hold for both backends, the bucket stays private and
the S3 endpoint (often an internal MinIO) is never exposed to clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, Protocol

from parmenid.core.errors import ServiceUnavailable, Text

log = logging.getLogger("parmenid.storage")

RETRY_AFTER = 60
_SAFE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-/]{0,500}$")

STORAGE_DOWN = Text(
    "File storage is unavailable right now; try again in a few minutes.",
    "Хранилище файлов сейчас недоступно; повторите через несколько минут.",
)


class UnsafeKey(ValueError):
    """A key that could escape the storage root or is not a plain relative path."""


class ObjectNotFound(FileNotFoundError):
    """No object is stored under the key."""

    def __init__(self, key: str) -> None:
        super().__init__(f"no object stored under {key!r}")
        self.key = key


class StorageUnavailable(ServiceUnavailable):
    code = "storage_unavailable"


def check_key(key: str) -> str:
    if not _SAFE_KEY.match(key) or ".." in key.split("/") or "//" in key or key.endswith("/"):
        raise UnsafeKey(f"unsafe storage key: {key!r}")
    return key


class ObjectStorage(Protocol):
    async def put(self, key: str, data: bytes) -> None: ...

    async def get(self, key: str) -> bytes: ...

    async def delete(self, key: str) -> None: ...

    async def exists(self, key: str) -> bool: ...

    async def close(self) -> None: ...


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put(self, key: str, data: bytes) -> None:
        path = self._path(key)

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(path.suffix + ".part")
            temporary.write_bytes(data)
            temporary.replace(path)  # readers never see half a file

        await asyncio.to_thread(write)

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise ObjectNotFound(key) from exc

    async def delete(self, key: str) -> None:
        path = self._path(key)
        with contextlib.suppress(IsADirectoryError, NotADirectoryError):  # no object there
            await asyncio.to_thread(path.unlink, True)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    async def close(self) -> None:
        pass


class S3Storage:
    """Objects in an S3 bucket under an optional key prefix (aioboto3).

    `endpoint_url` selects an S3-compatible server (MinIO, Ceph, moto) and path-style
    addressing; without it, AWS S3 of `region`. Without an access key the SDK's default chain
    is used (environment, instance or task role). The bucket must exist. One client per event
    loop is kept open (its connection pool is reused) until `close`.
    """

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        max_attempts: int = 3,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.endpoint_url = endpoint_url
        self.region = region
        self._credentials = (access_key_id, secret_access_key)
        self._timeouts = (connect_timeout, read_timeout, max_attempts)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None
        self._stack: AsyncExitStack | None = None
        self._client: Any = None

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    async def _s3(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a client's connections belong to the loop that made it
            self._loop, self._lock, self._stack, self._client = loop, asyncio.Lock(), None, None
        assert self._lock is not None
        async with self._lock:
            if self._client is None:
                import aioboto3  # type: ignore[import-untyped]
                from botocore.config import Config  # type: ignore[import-untyped]

                connect, read, attempts = self._timeouts
                config = Config(
                    connect_timeout=connect,
                    read_timeout=read,
                    retries={"max_attempts": attempts, "mode": "standard"},
                    s3={"addressing_style": "path" if self.endpoint_url else "auto"},
                )
                key_id, secret = self._credentials
                stack = AsyncExitStack()
                self._client = await stack.enter_async_context(
                    aioboto3.Session().client(
                        "s3",
                        endpoint_url=self.endpoint_url,
                        region_name=self.region,
                        aws_access_key_id=key_id,
                        aws_secret_access_key=secret,
                        config=config,
                    )
                )
                self._stack = stack
            return self._client

    async def put(self, key: str, data: bytes) -> None:
        name = self._key(key)
        async with self._errors(key):
            await (await self._s3()).put_object(Bucket=self.bucket, Key=name, Body=data)

    async def get(self, key: str) -> bytes:
        name = self._key(key)
        async with self._errors(key):
            response = await (await self._s3()).get_object(Bucket=self.bucket, Key=name)
            async with response["Body"] as body:
                data: bytes = await body.read()
                return data

    async def delete(self, key: str) -> None:
        name = self._key(key)
        async with self._errors(key):
            await (await self._s3()).delete_object(Bucket=self.bucket, Key=name)

    async def exists(self, key: str) -> bool:
        name = self._key(key)
        try:
            async with self._errors(key):
                await (await self._s3()).head_object(Bucket=self.bucket, Key=name)
        except ObjectNotFound:
            return False
        return True

    async def close(self) -> None:
        stack, self._stack, self._client = self._stack, None, None
        if stack is not None:
            await stack.aclose()

    def _errors(self, key: str) -> _S3Errors:
        return _S3Errors(self, key)


class _S3Errors:
    """Translates SDK errors into the contract's: a missing key `ObjectNotFound`, anything
    else (unreachable, refused, misconfigured) `StorageUnavailable`, logged with its cause."""

    def __init__(self, storage: S3Storage, key: str) -> None:
        self.storage = storage
        self.key = key

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, _: Any
    ) -> None:
        if exc is None:
            return
        from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            if code in {"NoSuchKey", "404", "NotFound"}:
                raise ObjectNotFound(self.key) from exc
            cause = f"{code}: {error.get('Message', '')}"
        elif isinstance(exc, BotoCoreError):
            cause = f"{exc.__class__.__name__}: {exc}"
        else:
            return
        log.error(
            "object storage failed",
            extra={"bucket": self.storage.bucket, "key": self.key, "error": cause},
        )
        raise StorageUnavailable(
            STORAGE_DOWN,
            extra={"retry_after": RETRY_AFTER},
            headers={"Retry-After": str(RETRY_AFTER)},
        ) from exc
