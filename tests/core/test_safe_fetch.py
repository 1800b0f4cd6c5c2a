"""The SSRF-guarded fetcher: address tricks, DNS answers, pinning, redirects, size and time caps."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from parmenid.core.http import outbound_client
from parmenid.core.safe_fetch import (
    FetchPolicy,
    FetchRefused,
    SystemResolver,
    fetch,
    is_forbidden_address,
    parse_numeric_ipv4,
)
from tests.fakes.server import ServerThread

PUBLIC_IP = "93.184.216.34"
LOOPBACK_OK = FetchPolicy(allow_loopback=True, total_timeout=5)


class FakeResolver:
    """Answers from a table and records every question."""

    def __init__(self, table: dict[str, list[list[str]]]) -> None:
        self.table = table  # host -> successive answers (the last one repeats)
        self.asked: list[str] = []

    async def resolve(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        answers = self.table.get(host)
        if not answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return answers.pop(0) if len(answers) > 1 else answers[0]


class NoDNS:
    async def resolve(self, host: str, port: int) -> list[str]:
        raise AssertionError(f"{host} should have been judged without DNS")


# --- URLs refused before any connection ------------------------------------------------------

REFUSED = [
    ("http://127.0.0.1/", "address_not_allowed"),
    ("http://127.1/", "address_not_allowed"),
    ("http://2130706433/", "address_not_allowed"),
    ("http://0x7f000001/", "address_not_allowed"),
    ("http://0x7f.0.0.1/", "address_not_allowed"),
    ("http://017700000001/", "address_not_allowed"),
    ("http://[::1]/", "address_not_allowed"),
    ("http://[::ffff:127.0.0.1]/", "address_not_allowed"),
    ("http://[::ffff:7f00:1]/", "address_not_allowed"),
    ("http://[::ffff:169.254.169.254]/", "address_not_allowed"),
    ("http://localhost/", "address_not_allowed"),
    ("http://LOCALHOST./", "address_not_allowed"),
    ("http://admin.localhost/", "address_not_allowed"),
    ("http://10.0.0.1/", "address_not_allowed"),
    ("http://172.16.5.4/", "address_not_allowed"),
    ("http://192.168.1.1/", "address_not_allowed"),
    ("http://169.254.169.254/latest/meta-data/", "address_not_allowed"),
    ("http://100.100.100.200/", "address_not_allowed"),
    ("http://100.64.0.1/", "address_not_allowed"),
    ("http://0.0.0.0/", "address_not_allowed"),
    ("http://0/", "address_not_allowed"),
    ("http://[::]/", "address_not_allowed"),
    ("http://[fe80::1]/", "address_not_allowed"),
    ("http://[fd00:ec2::254]/", "address_not_allowed"),
    ("http://[64:ff9b::7f00:1]/", "address_not_allowed"),
    ("http://[2002:7f00:1::]/", "address_not_allowed"),
    ("http://224.0.0.1/", "address_not_allowed"),
    ("http://255.255.255.255/", "address_not_allowed"),
    ("http://198.18.0.1/", "address_not_allowed"),
    ("http://192.0.2.1/", "address_not_allowed"),
    ("ftp://example.com/", "scheme_not_allowed"),
    ("file:///etc/passwd", "scheme_not_allowed"),
    ("gopher://x/", "scheme_not_allowed"),
    ("javascript:alert(1)", "scheme_not_allowed"),
    ("http://user:pass@127.0.0.1/", "bad_url"),
    ("http://user@example.com/", "bad_url"),
    ("http://example.com\\@127.0.0.1/", "bad_url"),
    ("http://example.com /", "bad_url"),
    ("http://exa\tmple.com/", "bad_url"),
    ("http:///path", "bad_url"),
    ("http://example.com:99999/", "bad_url"),
    ("http://%31%32%37.0.0.1/", "bad_url"),
    ("not a url at all", "bad_url"),
]


@pytest.mark.parametrize(("url", "code"), REFUSED)
async def test_refused_urls(url: str, code: str) -> None:
    async with outbound_client() as client:
        with pytest.raises(FetchRefused) as caught:
            await fetch(url, client=client, policy=FetchPolicy(), resolver=NoDNS())
    assert caught.value.code == code, caught.value.reason
    assert caught.value.reason


async def test_the_reason_names_the_address_and_the_kind_of_network() -> None:
    resolver = FakeResolver({"intranet.example": [["10.0.0.5"]]})
    async with outbound_client() as client:
        with pytest.raises(FetchRefused) as caught:
            await fetch(
                "http://intranet.example/", client=client, policy=FetchPolicy(), resolver=resolver
            )
    assert caught.value.reason == (
        "The address resolves to a private network (10.0.0.5), which is not allowed."
    )


@pytest.mark.parametrize(
    ("address", "category"),
    [
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
        ("::ffff:8.8.8.8", None),
        ("64:ff9b::808:808", None),
        ("2002:808:808::1", None),
        ("127.0.0.1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::7f00:1", "loopback"),
        ("10.1.2.3", "private"),
        ("fd12::1", "private"),
        ("169.254.169.254", "metadata"),
        ("169.254.1.1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("fd00:ec2::254", "metadata"),
        ("100.100.100.200", "metadata"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("::", "unspecified"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("::808:808", "reserved"),  # IPv4-compatible: deprecated, never needed
        ("2001:db8::1", "documentation"),
        ("198.19.255.255", "benchmarking"),
    ],
)
def test_is_forbidden_address(address: str, category: str | None) -> None:
    assert is_forbidden_address(address) == category


@pytest.mark.parametrize("host", ["127.1", "2130706433", "0x7f000001", "017700000001", "0x7f.1"])
async def test_numeric_hosts_decode_as_the_system_resolver_does(host: str) -> None:
    decoded = parse_numeric_ipv4(host)
    assert decoded is not None
    assert await SystemResolver().resolve(host, 80) == [str(decoded)]


@pytest.mark.parametrize("host", ["example.com", "1.2.3.4.5", "256.1", "08", "1.0x", "0x"])
def test_non_numeric_hosts_are_left_to_the_resolver(host: str) -> None:
    assert parse_numeric_ipv4(host) is None


# --- DNS answers ----------------------------------------------------------------------------


async def test_a_name_resolving_to_a_private_address_is_refused() -> None:
    resolver = FakeResolver({"internal.example.com": [["10.1.2.3"]]})
    async with outbound_client() as client:
        with pytest.raises(FetchRefused) as caught:
            await fetch(
                "http://internal.example.com/",
                client=client,
                policy=FetchPolicy(),
                resolver=resolver,
            )
    assert caught.value.code == "address_not_allowed"
    assert "10.1.2.3" in caught.value.reason


async def test_one_private_answer_among_public_ones_refuses() -> None:
    resolver = FakeResolver({"mixed.example": [[PUBLIC_IP, "192.168.0.7"]]})
    async with outbound_client() as client:
        with pytest.raises(FetchRefused) as caught:
            await fetch(
                "http://mixed.example/", client=client, policy=FetchPolicy(), resolver=resolver
            )
    assert caught.value.code == "address_not_allowed"
    assert "192.168.0.7" in caught.value.reason


async def test_an_unknown_name_is_dns_failed() -> None:
    async with outbound_client() as client:
        with pytest.raises(FetchRefused) as caught:
            await fetch(
                "http://nowhere.example/",
                client=client,
                policy=FetchPolicy(),
                resolver=FakeResolver({}),
            )
    assert caught.value.code == "dns_failed"


async def test_ports_can_be_restricted() -> None:
    policy = FetchPolicy(allowed_ports=frozenset({80, 443}))
    resolver = FakeResolver({"site.test": [[PUBLIC_IP]]})
    async with outbound_client() as client:
        with pytest.raises(FetchRefused) as caught:
            await fetch("http://site.test:6379/", client=client, policy=policy, resolver=resolver)
    assert caught.value.code == "address_not_allowed"


# --- The request goes to the checked address (mock transport, no sockets) --------------------


def _mock_client(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler), follow_redirects=False)


async def test_the_request_is_pinned_to_the_checked_address() -> None:
    """DNS rebinding: the second answer (private) is never used; the connection goes to the
    address that was checked, the name travels in `Host`."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text="public page", headers={"content-type": "text/plain"})

    resolver = FakeResolver({"site.test": [[PUBLIC_IP], ["127.0.0.1"]]})
    async with _mock_client(handler) as client:
        got = await fetch(
            "http://site.test/a/b?c=1", client=client, policy=FetchPolicy(), resolver=resolver
        )
    assert got.content == b"public page"
    assert got.final_url == "http://site.test/a/b?c=1"
    assert got.content_type == "text/plain"
    assert resolver.asked == ["site.test"]
    [request] = seen
    assert str(request.url) == f"http://{PUBLIC_IP}/a/b?c=1"
    assert request.headers["host"] == "site.test"
    assert "sni_hostname" not in request.extensions


async def test_https_keeps_the_name_for_sni_and_certificate_checks() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b"ok")

    resolver = FakeResolver({"xn--bcher-kva.example": [["2606:4700::1111"]]})
    async with _mock_client(handler) as client:
        await fetch(
            "https://Bücher.example.:8443/x", client=client, policy=FetchPolicy(), resolver=resolver
        )
    [request] = seen
    assert resolver.asked == ["xn--bcher-kva.example"]
    assert str(request.url) == "https://[2606:4700::1111]:8443/x"
    assert request.headers["host"] == "xn--bcher-kva.example:8443"
    assert request.extensions["sni_hostname"] == "xn--bcher-kva.example"
    assert request.headers["connection"] == "close"  # never reused for another name on this IP
    assert request.extensions["timeout"] == {
        "connect": 5.0,
        "read": 20.0,
        "write": 20.0,
        "pool": 5.0,
    }


@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.1:8080/",
        "http://localhost/admin",
        "http://[::ffff:169.254.169.254]/",
        "http://internal.example.com/",
        "gopher://site.test/",
    ],
)
async def test_every_redirect_is_checked_again(location: str) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(302, headers={"location": location})

    resolver = FakeResolver({"site.test": [[PUBLIC_IP]], "internal.example.com": [["10.1.2.3"]]})
    async with _mock_client(handler) as client:
        with pytest.raises(FetchRefused) as caught:
            await fetch("http://site.test/", client=client, policy=FetchPolicy(), resolver=resolver)
    assert caught.value.code in {"address_not_allowed", "scheme_not_allowed"}
    assert seen == [f"http://{PUBLIC_IP}/"]  # the redirect target was never contacted


# --- Real sockets on loopback ---------------------------------------------------------------


async def _hop(request: Request) -> Response:
    n = int(request.path_params["n"])
    if n == 0:
        return PlainTextResponse("arrived")
    return RedirectResponse(f"/hop/{n - 1}", status_code=302)


APP = Starlette(
    routes=[
        Route("/ok", lambda _: PlainTextResponse("hello, world")),
        Route("/hop/{n}", _hop),
        Route(
            "/to-metadata",
            lambda _: RedirectResponse("http://169.254.169.254/latest/meta-data/", status_code=302),
        ),
        Route("/missing", lambda _: PlainTextResponse("no", status_code=404)),
    ]
)


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    with ServerThread(APP) as running:
        yield running


async def test_fetches_from_a_real_server(server: ServerThread) -> None:
    async with outbound_client() as client:
        got = await fetch(f"{server.url}/ok", client=client, policy=LOOPBACK_OK)
    assert (got.status, got.content, got.redirects) == (200, b"hello, world", [])
    assert got.content_type is not None and got.content_type.startswith("text/plain")


async def test_loopback_is_refused_without_the_dev_setting(server: ServerThread) -> None:
    async with outbound_client() as client:
        with pytest.raises(FetchRefused) as caught:
            await fetch(f"{server.url}/ok", client=client, policy=FetchPolicy())
    assert caught.value.code == "address_not_allowed"


async def test_three_redirects_are_followed(server: ServerThread) -> None:
    async with outbound_client() as client:
        got = await fetch(f"{server.url}/hop/3", client=client, policy=LOOPBACK_OK)
    assert got.content == b"arrived"
    assert got.redirects == [f"{server.url}/hop/{n}" for n in (2, 1, 0)]
    assert got.final_url == f"{server.url}/hop/0"


async def test_four_redirects_are_too_many(server: ServerThread) -> None:
    async with outbound_client() as client:
        with pytest.raises(FetchRefused) as caught:
            await fetch(f"{server.url}/hop/4", client=client, policy=LOOPBACK_OK)
    assert caught.value.code == "too_many_redirects"


async def test_a_redirect_to_the_metadata_address_is_refused(server: ServerThread) -> None:
    async with outbound_client() as client:
        with pytest.raises(FetchRefused) as caught:
            await fetch(f"{server.url}/to-metadata", client=client, policy=LOOPBACK_OK)
    assert caught.value.code == "address_not_allowed"
    assert "169.254.169.254" in caught.value.reason


async def test_a_404_is_an_http_error(server: ServerThread) -> None:
    async with outbound_client() as client:
        with pytest.raises(FetchRefused) as caught:
            await fetch(f"{server.url}/missing", client=client, policy=LOOPBACK_OK)
    assert caught.value.code == "http_error"
    assert "404" in caught.value.reason


class RawServer:
    """A TCP server on 127.0.0.1 that hands each connection to `handle` in its own thread."""

    def __init__(self, handle: Callable[[socket.socket], None]) -> None:
        self.handle = handle
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port: int = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.done = threading.Event()  # set when a connection handler has returned
        self.thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                _read_request(conn)
                self.handle(conn)
            except OSError:
                pass
        self.done.set()

    def __enter__(self) -> RawServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        self.sock.close()


def _read_request(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return
        data += chunk


def _wait_for_close(conn: socket.socket) -> None:
    while conn.recv(4096):
        pass


async def test_an_endless_body_is_cut_at_the_cap() -> None:
    sent = [0]

    def endless(conn: socket.socket) -> None:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"x" * 65536
        while True:
            conn.sendall(b"%x\r\n%b\r\n" % (len(chunk), chunk))
            sent[0] += len(chunk)

    policy = FetchPolicy(allow_loopback=True, max_bytes=256 * 1024, total_timeout=5)
    with RawServer(endless) as raw:
        async with outbound_client() as client:
            with pytest.raises(FetchRefused) as caught:
                await fetch(raw.url, client=client, policy=policy)
        assert caught.value.code == "too_large"
        assert raw.done.wait(5), "the server kept sending after the client gave up"
    assert sent[0] < 64 * 1024 * 1024  # bounded by the cap plus socket buffers, not endless


async def test_a_declared_length_over_the_cap_is_refused_before_reading() -> None:
    def huge(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\nxxxx")
        _wait_for_close(conn)  # the rest never comes: reading would mean a timeout

    policy = FetchPolicy(allow_loopback=True, max_bytes=1024, read_timeout=3, total_timeout=3)
    with RawServer(huge) as raw:
        async with outbound_client() as client:
            started = time.monotonic()
            with pytest.raises(FetchRefused) as caught:
                await fetch(raw.url, client=client, policy=policy)
    assert caught.value.code == "too_large"
    assert time.monotonic() - started < 1


@pytest.mark.parametrize(
    "policy",
    [
        FetchPolicy(allow_loopback=True, read_timeout=0.3, total_timeout=10),
        FetchPolicy(allow_loopback=True, read_timeout=10, total_timeout=0.3),
    ],
    ids=["read_timeout", "total_timeout"],
)
async def test_a_hanging_server_times_out(policy: FetchPolicy) -> None:
    with RawServer(_wait_for_close) as raw:
        async with outbound_client() as client:
            started = time.monotonic()
            with pytest.raises(FetchRefused) as caught:
                await fetch(raw.url, client=client, policy=policy)
    assert caught.value.code == "timeout"
    assert 0.25 < time.monotonic() - started < 2
