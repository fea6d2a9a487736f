"""Which text encoding a CSV export is in: UTF-8 (with or without BOM), UTF-16 with a BOM, or
Windows-1252 (Excel re-saves); otherwise the precise reason it is not readable text.

The file is read in chunks, never whole. Reasons name the rule broken and where (line, byte
offset from the start of the file), never the bytes themselves, which may be personal data.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from pipelines.ingest.errors import UnreadableExport

CHUNK_BYTES = 1024 * 1024
UTF16_SNIFF_BYTES = 1024
# Tab, line feed, vertical tab, form feed and carriage return occur in text; other control
# bytes (and NUL above all) do not, beyond a stray one.
_CONTROL_BYTES = bytes(range(0x20)).translate(None, b"\t\n\v\f\r") + b"\x7f"
MAX_CONTROL_SHARE = 0.01

_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)

BINARY = (
    "The file holds binary data, not text: it may be a spreadsheet, archive or image saved with "
    "a .csv name."
)
UTF16_WITHOUT_BOM = (
    "The file is UTF-16 text without a byte-order mark: save it again as 'CSV UTF-8'."
)


def detect_encoding(path: Path) -> str:
    """The name of the Python codec the whole file decodes with, or UnreadableExport saying why
    none does. "utf-8-sig" and "utf-16" files start with a byte-order mark (BOM)."""
    with path.open("rb") as file:
        head = file.read(CHUNK_BYTES)
        file.seek(0)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            offset = _first_undecodable_byte(file, "utf-16")
            if offset is not None:
                raise UnreadableExport(
                    "The file starts with a UTF-16 byte-order mark but is not valid UTF-16 text "
                    f"(byte offset {offset:,} from the start of the file): it may be a binary "
                    "file saved with a .csv name."
                )
            return "utf-16"
        if _is_utf16_without_bom(head):
            raise UnreadableExport(UTF16_WITHOUT_BOM)
        if is_binary(head):
            raise UnreadableExport(BINARY)
        first_non_utf8 = _first_undecodable_byte(file, "utf-8")
        if first_non_utf8 is None:
            return "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
        # Not UTF-8 throughout. If parts of it *are* UTF-8 (a BOM counts), two encodings were
        # mixed (two files pasted together); reading the whole as Windows-1252 would silently
        # garble those parts.
        file.seek(0)
        first_non_cp1252 = _first_undecodable_byte(file, "cp1252")
        file.seek(0)
        if first_non_cp1252 is None and _has_utf8_multibyte(file):
            raise UnreadableExport(
                "The file mixes two text encodings (some lines UTF-8, some Windows-1252), so "
                "accented letters cannot all be read correctly: the first byte that is not UTF-8 "
                f"is on line {_line_number(file, first_non_utf8):,}, at byte offset "
                f"{first_non_utf8:,} from the start of the file. Re-export it from the survey "
                "tool in one go."
            )
        if first_non_cp1252 is None:
            return "windows-1252"
        raise UnreadableExport(
            "The file is not text in UTF-8 or Windows-1252: the byte on line "
            f"{_line_number(file, first_non_cp1252):,}, at byte offset {first_non_cp1252:,} from "
            "the start of the file, is a character in neither. It may be a binary file saved "
            "with a .csv name."
        )


def is_binary(sample: bytes) -> bool:
    """Whether the first bytes of a file show it is not text: a NUL, or control bytes beyond
    a stray one."""
    if b"\x00" in sample:
        return True
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    return controls > MAX_CONTROL_SHARE * len(sample)


def _is_utf16_without_bom(head: bytes) -> bool:
    """UTF-16 stores Latin letters as the letter's byte and a NUL, so half of the bytes are NUL,
    all at odd offsets (little-endian) or all at even ones (big-endian)."""
    sample = head[:UTF16_SNIFF_BYTES]
    pairs = len(sample) // 2
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    return pairs >= 2 and max(even, odd) > pairs / 2 and min(even, odd) < pairs / 10


class _Undecodable(Exception):
    def __init__(self, offset: int) -> None:
        self.offset = offset


def _first_undecodable_byte(file: BinaryIO, codec: str) -> int | None:
    """Offset from the start of the file of the first byte `codec` cannot decode, or None.
    Decoded NUL characters mean binary data (UTF-16 is checked only here)."""
    try:
        for text in _decoded_chunks(file, codec):
            if "\x00" in text:
                raise UnreadableExport(BINARY)
    except _Undecodable as failure:
        return failure.offset
    return None


def _decoded_chunks(file: BinaryIO, codec: str) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder(codec)("strict")
    offset = 0  # of the chunk about to be read
    while True:
        chunk = file.read(CHUNK_BYTES)
        held_back = len(decoder.getstate()[0])  # an incomplete character from the last chunk
        try:
            yield decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as error:
            raise _Undecodable(offset - held_back + error.start) from None
        if not chunk:
            return
        offset += len(chunk)


def _has_utf8_multibyte(file: BinaryIO) -> bool:
    tail = b""  # a sequence may straddle two chunks
    while chunk := file.read(CHUNK_BYTES):
        if _UTF8_MULTIBYTE.search(tail + chunk):
            return True
        tail = chunk[-3:]
    return False


def _line_number(file: BinaryIO, offset: int) -> int:
    file.seek(0)
    line_breaks = 0
    while offset > 0 and (chunk := file.read(min(CHUNK_BYTES, offset))):
        line_breaks += chunk.count(b"\n")
        offset -= len(chunk)
    return line_breaks + 1
