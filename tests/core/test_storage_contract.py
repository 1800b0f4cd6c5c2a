"""One contract for object storage, run against every backend: a local directory and an S3
bucket on moto's S3 server (a real HTTP S3 endpoint on a free loopback port, never AWS)."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from parmenid.core.storage import (
    LocalStorage,
    ObjectNotFound,
    ObjectStorage,
    S3Storage,
    StorageUnavailable,
    UnsafeKey,
)

CREDENTIALS = {"access_key_id": "testing", "secret_access_key": "testing", "region": "us-east-1"}
UNSAFE_KEYS = [
    "",
    "../escape",
    "a/../../escape",
    "/absolute",
    "a//b",
    "dir/",
    ".hidden",
    "with space",
    "кириллица",
    "a\\b",
    "a\x00b",
    "x" * 502,
]


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def new_bucket(endpoint: str) -> str:
    """A fresh bucket on the S3 server (each test its own)."""
    name = f"parmenid-{uuid.uuid4().hex[:16]}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=CREDENTIALS["region"],
        aws_access_key_id=CREDENTIALS["access_key_id"],
        aws_secret_access_key=CREDENTIALS["secret_access_key"],
    )
    client.create_bucket(Bucket=name)
    return name


def s3_keys(endpoint: str, bucket: str) -> list[str]:
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=CREDENTIALS["region"],
        aws_access_key_id=CREDENTIALS["access_key_id"],
        aws_secret_access_key=CREDENTIALS["secret_access_key"],
    )
    listed = client.list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listed.get("Contents", []))


@pytest.fixture(params=["local", "s3"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ObjectStorage]:
    backend: ObjectStorage
    if request.param == "local":
        backend = LocalStorage(tmp_path / "files")
    else:
        endpoint = request.getfixturevalue("s3_endpoint")
        backend = S3Storage(new_bucket(endpoint), endpoint_url=endpoint, **CREDENTIALS)
    try:
        yield backend
    finally:
        await backend.close()


async def test_put_then_get_returns_the_same_bytes(storage: ObjectStorage) -> None:
    data = bytes(range(256)) * 3
    await storage.put("exports/org/1/deck.pptx", data)
    assert await storage.get("exports/org/1/deck.pptx") == data
    assert await storage.exists("exports/org/1/deck.pptx")


async def test_an_empty_object_is_an_object(storage: ObjectStorage) -> None:
    await storage.put("empty.txt", b"")
    assert await storage.get("empty.txt") == b""
    assert await storage.exists("empty.txt")


async def test_put_replaces_the_whole_object(storage: ObjectStorage) -> None:
    await storage.put("a/b.bin", b"first version, longer than the second")
    await storage.put("a/b.bin", b"second")
    assert await storage.get("a/b.bin") == b"second"


async def test_a_missing_key_raises_object_not_found(storage: ObjectStorage) -> None:
    with pytest.raises(ObjectNotFound, match="nothing/here") as raised:
        await storage.get("nothing/here")
    assert isinstance(raised.value, FileNotFoundError)  # callers catching OSError still work
    assert not await storage.exists("nothing/here")


async def test_delete_removes_and_deleting_twice_is_harmless(storage: ObjectStorage) -> None:
    await storage.put("gone/soon.txt", b"x")
    await storage.put("gone/stays.txt", b"y")
    await storage.delete("gone/soon.txt")
    await storage.delete("gone/soon.txt")
    await storage.delete("never/existed.txt")
    assert not await storage.exists("gone/soon.txt")
    with pytest.raises(ObjectNotFound):
        await storage.get("gone/soon.txt")
    assert await storage.get("gone/stays.txt") == b"y"


async def test_a_key_prefix_is_not_an_object(storage: ObjectStorage) -> None:
    await storage.put("folder/file.txt", b"x")
    assert not await storage.exists("folder")
    with pytest.raises(ObjectNotFound):
        await storage.get("folder")


@pytest.mark.parametrize("key", UNSAFE_KEYS)
async def test_unsafe_keys_are_refused_before_storage_is_touched(
    storage: ObjectStorage, key: str
) -> None:
    with pytest.raises(UnsafeKey):
        await storage.put(key, b"x")
    with pytest.raises(UnsafeKey):
        await storage.get(key)
    with pytest.raises(UnsafeKey):
        await storage.delete(key)
    with pytest.raises(UnsafeKey):
        await storage.exists(key)


async def test_a_large_object_round_trips(storage: ObjectStorage) -> None:
    data = os.urandom(24 * 1024 * 1024)
    await storage.put("large/blob.bin", data)
    assert await storage.get("large/blob.bin") == data


async def test_concurrent_writes_and_reads(storage: ObjectStorage) -> None:
    keys = [f"many/{i}.txt" for i in range(25)]
    await asyncio.gather(*(storage.put(k, k.encode()) for k in keys))
    found = await asyncio.gather(*(storage.get(k) for k in keys))
    assert found == [k.encode() for k in keys]


# -- what only one backend has -------------------------------------------------------------


async def test_local_storage_never_writes_outside_its_root(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "files")
    with pytest.raises(UnsafeKey):
        await storage.put("../outside.txt", b"x")
    assert not (tmp_path / "outside.txt").exists()
    await storage.put("inside.txt", b"x")
    assert (tmp_path / "files" / "inside.txt").read_bytes() == b"x"


async def test_s3_keys_live_under_the_prefix(s3_endpoint: str) -> None:
    bucket = new_bucket(s3_endpoint)
    storage = S3Storage(bucket, prefix="/parmenid/prod/", endpoint_url=s3_endpoint, **CREDENTIALS)
    try:
        await storage.put("exports/x/deck.pdf", b"%PDF")
        assert s3_keys(s3_endpoint, bucket) == ["parmenid/prod/exports/x/deck.pdf"]
        assert await storage.get("exports/x/deck.pdf") == b"%PDF"
        await storage.delete("exports/x/deck.pdf")
        assert s3_keys(s3_endpoint, bucket) == []
    finally:
        await storage.close()


async def test_s3_that_cannot_be_reached_is_storage_unavailable() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    storage = S3Storage(
        "bucket",
        endpoint_url=f"http://127.0.0.1:{port}",
        connect_timeout=0.5,
        max_attempts=1,
        **CREDENTIALS,
    )
    try:
        with pytest.raises(StorageUnavailable) as raised:
            await storage.put("a.txt", b"x")
        assert raised.value.status == 503
        assert raised.value.code == "storage_unavailable"
        with pytest.raises(StorageUnavailable):
            await storage.get("a.txt")
    finally:
        await storage.close()


async def test_s3_missing_bucket_is_storage_unavailable_not_not_found(s3_endpoint: str) -> None:
    storage = S3Storage("no-such-bucket-here", endpoint_url=s3_endpoint, **CREDENTIALS)
    try:
        with pytest.raises(StorageUnavailable):
            await storage.put("a.txt", b"x")
    finally:
        await storage.close()
