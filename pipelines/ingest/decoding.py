"""Bytes to text for CSV exports: UTF-8 (with or without BOM) or Windows-1252 (Excel re-saves)."""

from __future__ import annotations

import re

from pipelines.ingest.errors import UnreadableExport

_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


def decode_export(raw: bytes) -> tuple[str, str]:
    """Return the text and the name of the encoding it was found in."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return _strict(raw[3:], "utf-8"), "utf-8-sig"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _strict(raw, "utf-16"), "utf-16"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    # Not UTF-8. If parts of it *are* UTF-8, two encodings were mixed (two files pasted
    # together); decoding the whole as Windows-1252 would silently garble those parts.
    if _UTF8_MULTIBYTE.search(raw):
        raise UnreadableExport(
            "The file mixes two text encodings (some lines UTF-8, some Windows-1252), so accented "
            "letters cannot all be read correctly. Re-export it from the survey tool in one go."
        )
    return _strict(raw, "cp1252"), "windows-1252"


def _strict(raw: bytes, encoding: str) -> str:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as error:
        raise UnreadableExport(
            f"The file is not valid {encoding} text (byte {error.start}); it may be a binary file "
            "saved with a .csv name."
        ) from error
