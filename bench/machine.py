"""What a benchmark result records about the machine and the code it ran."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

REPO_DIR = Path(__file__).resolve().parent.parent


def package_versions(names: Iterable[str]) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    versions: dict[str, str] = {}
    for name in names:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "-"
    return versions


def git_state() -> dict[str, Any]:
    """The commit measured, and whether `src/` had uncommitted changes."""
    if shutil.which("git") is None:
        return {}

    def git(*args: str) -> str:
        completed = subprocess.run(
            ["git", *args], cwd=REPO_DIR, capture_output=True, text=True, check=False
        )
        return completed.stdout.strip()

    return {
        "commit": git("rev-parse", "--short", "HEAD") or None,
        "src_dirty": bool(git("status", "--porcelain", "--", "src")),
    }
