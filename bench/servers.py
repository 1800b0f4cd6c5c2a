"""Starting, probing and stopping the servers under test, each as its own child process."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from load import pin_to

HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def http_status(port: int, path: str, timeout: float = 2.0) -> int | None:
    """The status of `GET path` on 127.0.0.1:port, or None when nothing answers."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    except OSError:
        return None
    finally:
        connection.close()


@dataclass
class Server:
    """A server child process; a context manager that stops it (and only it) on exit."""

    name: str
    command: Sequence[str]
    env: Mapping[str, str]
    port: int
    ready_path: str
    log_path: Path
    cwd: Path
    cpu: int | None = None
    process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90.0) -> None:
        with self.log_path.open("wb") as log:
            # Output goes to a file, never to an undrained pipe that would block the server.
            self.process = subprocess.Popen(
                list(self.command),
                env=dict(self.env),
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=pin_to(self.cpu),
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode} before it was ready:\n"
                    + self.log_tail()
                )
            if http_status(self.port, self.ready_path, timeout=1.0) == 200:
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} was not ready within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self, grace: float = 15.0) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def runtime_info(self) -> dict[str, str]:
        """Which event loop and HTTP parser the process loaded (from its memory map, on Linux).

        uvicorn imports uvloop only to install it, so a process without uvloop mapped runs on
        the standard asyncio loop.
        """
        if self.pid is None:
            return {}
        try:
            maps = Path(f"/proc/{self.pid}/maps").read_text()
        except OSError:
            return {"loop": "unknown", "http": "unknown"}
        return {
            "loop": "uvloop" if "/uvloop/" in maps else "asyncio",
            "http": "httptools" if "/httptools/" in maps else "h11",
        }

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def clean_env(extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without any PARMENID_* settings, plus `extra`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PARMENID_")}
    env.update(extra)
    return env
