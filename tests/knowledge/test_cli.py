"""`parmenid ingest` and `parmenid ask` from a terminal, as real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples"


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARMENID_")}
    env.update({"PARMENID_DATA_DIR": str(tmp_path), "PARMENID_LOG_LEVEL": "WARNING"})
    return subprocess.run(
        [sys.executable, "-m", "parmenid.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_ingest_then_ask_answers_with_citations(tmp_path: Path) -> None:
    done = _run(
        tmp_path,
        "ingest",
        str(SAMPLES / "pep-0008.pdf"),
        str(SAMPLES / "pep-0498.md"),
        str(SAMPLES / "libreoffice-writer-password.pdf"),
    )
    assert done.returncode == 1  # one file failed, and the exit code says so
    assert "✓" in done.stdout and "pep-0008.pdf" in done.stdout
    assert "password-protected" in done.stderr
    assert "Traceback" not in done.stderr

    answered = _run(tmp_path, "ask", "What is the maximum line length?")
    assert answered.returncode == 0, answered.stderr
    assert "79 characters" in answered.stdout
    assert "pep-0008.pdf, p. " in answered.stdout
    assert "provider: local" in answered.stdout

    unknown = _run(tmp_path, "ask", "What is the capital of Peru?")
    assert "could not find" in unknown.stdout.lower()
