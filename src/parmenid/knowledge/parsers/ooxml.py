"""Zip-bomb guard for OOXML (DOCX, PPTX, XLSX) archives.

Runs before any library opens the archive and reads only the central directory, so nothing is
decompressed. The central directory's sizes are what :mod:`zipfile` trusts when it inflates an
entry (it stops at the declared size), so checking them bounds the real work.
"""

from __future__ import annotations

import zipfile
from io import BytesIO

from parmenid.knowledge.parsers import MiB, ParseError, ParseLimits

# Small XML parts legitimately compress very well; the ratio rule applies above this size.
RATIO_FLOOR_BYTES = 1 * MiB


def check_archive(data: bytes, limits: ParseLimits) -> None:
    """Refuse archives with too many entries, too much expanded data or a suspicious ratio."""
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ParseError(
            "corrupt", "The file is not a valid Office document (corrupt zip)."
        ) from exc

    if len(entries) > limits.max_zip_entries:
        raise ParseError(
            "zip_bomb",
            f"The archive has {len(entries)} entries; the limit is {limits.max_zip_entries} "
            "(possible zip bomb).",
        )
    total = 0
    for entry in entries:
        if entry.flag_bits & 0x1:
            raise ParseError(
                "password_protected",
                "The document is password-protected; remove the password and upload it again.",
            )
        total += entry.file_size
        if total > limits.max_uncompressed_bytes:
            raise ParseError(
                "zip_bomb",
                f"The archive expands to more than {limits.max_uncompressed_bytes // MiB} MiB "
                "(possible zip bomb).",
            )
        if (
            entry.file_size > RATIO_FLOOR_BYTES
            and entry.file_size > limits.max_compression_ratio * max(entry.compress_size, 1)
        ):
            raise ParseError(
                "zip_bomb",
                f"The archive entry {entry.filename!r} is compressed more than "
                f"{limits.max_compression_ratio:g} to 1 (possible zip bomb).",
            )
    if total > RATIO_FLOOR_BYTES and total > limits.max_compression_ratio * len(data):
        raise ParseError(
            "zip_bomb",
            f"The archive expands more than {limits.max_compression_ratio:g} times its size "
            "(possible zip bomb).",
        )
