"""Strict CSV reading: a declared or detected encoding, and a bad row refused alone with its line number.

* **Encoding.** A byte-order mark names the encoding (UTF-8, UTF-16). Otherwise the file must be the
  mapping's ``encoding`` (default UTF-8). A file that does not decode is refused as a whole, naming the
  line and byte, never read with replacement characters ("M\ufffdller"); so is a file declared in a
  single-byte encoding (latin-1, cp1252) that is in fact UTF-8 ("MÃ¼ller").
* **Rows.** Each record is parsed on its own, strictly. A record that does not parse (a stray or
  unclosed quote) or has a different number of fields than the header is refused with the line it
  starts on, and reading resumes on the next line, so a stray quote never swallows the rows after it.
* **Text.** Control characters are removed from every value (:func:`worker.ingest.rules.clean_text`).

Rows are numbered by the line they start on (the header is line 1).
"""

from __future__ import annotations

import codecs
import csv
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from worker.ingest.text import clean_text

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\n|\r)|[^\r\n]+$")
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_SINGLE_BYTE = frozenset({"latin_1", "iso8859_1", "cp1252", "iso8859_15", "cp1250", "iso8859_2", "mac_roman",
                          "cp850", "cp437"})


class CsvFileError(ValueError):
    """A file that cannot be read as a whole; the message names the file and, when known, the line."""


@dataclass(frozen=True)
class BadLine:
    """A record refused by the reader: the line it starts on and why."""

    line: int
    reason: str


def check_encoding(name: str) -> str:
    """The canonical name of a codec (raises ValueError naming an unknown one)."""
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise ValueError(f"unknown encoding {name!r} (e.g. utf-8, cp1252, latin-1, utf-16)") from None


def decode(data: bytes, file: str, declared: str | None = None) -> str:
    """The text of a file's bytes, by its byte-order mark, else the declared encoding, else UTF-8."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return _decode(data, codec, file, declared)
    codec = check_encoding(declared) if declared else "utf-8"
    if codec.replace("-", "_") in _SINGLE_BYTE and _is_utf8_text(data):
        raise CsvFileError(f"{file}: declared encoding {declared} but the file is UTF-8 (reading it as "
                           f"{declared} would turn 'ü' into 'Ã¼'); remove encoding: or set it to utf-8")
    if declared is None and data.count(b"\x00") > len(data) // 4 > 0:
        raise CsvFileError(f"{file}: the file looks like UTF-16 without a byte-order mark; declare "
                           f"encoding: utf-16-le (or utf-16-be) in the mapping")
    return _decode(data, codec, file, declared)


def _is_utf8_text(data: bytes) -> bool:
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _decode(data: bytes, codec: str, file: str, declared: str | None) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        byte = data[exc.start: exc.start + 1].hex()
        hint = ("declare the file's encoding in the mapping, e.g. encoding: cp1252 (Excel on Windows) or "
                "encoding: latin-1" if declared is None else "check the mapping's encoding:")
        raise CsvFileError(f"{file}: line {line} is not valid {declared or 'UTF-8'} (byte 0x{byte}); {hint}") from None


def read_text(path: Path, encoding: str | None = None) -> str:
    """A CSV file's text (see :func:`decode`); CsvFileError when it cannot be read or decoded."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CsvFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return decode(data, path.name, encoding)


def records(text: str, delimiter: str = ",") -> Iterator[tuple[int, list[str]] | BadLine]:
    """Each record of ``text`` with the line it starts on, or a :class:`BadLine` for one that is refused.

    The first record is the header; records with another number of fields are refused.
    """
    source = _Lines(_LINE.findall(text))
    reader = csv.reader(source, delimiter=delimiter, strict=True)
    width: int | None = None
    while True:
        start = source.index
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield BadLine(start + 1, f"malformed CSV ({exc}); a stray or unclosed quote?")
            source.index = start + 1
            reader = csv.reader(source, delimiter=delimiter, strict=True)
            continue
        if not fields:
            continue
        if width is None:
            width = len(fields)
        elif len(fields) != width:
            yield BadLine(start + 1, f"{len(fields)} fields where the header has {width} "
                                     f"(a stray quote or delimiter?)")
            if source.index - start > 1:
                source.index = start + 1
                reader = csv.reader(source, delimiter=delimiter, strict=True)
            continue
        yield start + 1, [clean_text(f) for f in fields]


class _Lines:
    """Physical lines, read one at a time from a position that can be moved back to resynchronise."""

    def __init__(self, lines: list[str]) -> None:
        self.lines, self.index = lines, 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.index >= len(self.lines):
            raise StopIteration
        self.index += 1
        return self.lines[self.index - 1]


def rows(text: str, file: str, delimiter: str = ",") -> Iterator[tuple[int, dict[str, str]] | BadLine]:
    """Each data row as ``{header: value}`` (values stripped) with its line, or a refused :class:`BadLine`.

    Raises:
        CsvFileError: The file has no header, or a column name is repeated in it.
    """
    header: list[str] | None = None
    for item in records(text, delimiter):
        if isinstance(item, BadLine):
            yield item
            continue
        line, fields = item
        if header is None:
            header = [f.strip().lstrip("\ufeff") for f in fields]
            repeated = sorted({h for h in header if h and header.count(h) > 1})
            if repeated:
                raise CsvFileError(f"{file}: column names repeated in the header: {', '.join(repeated)}")
            continue
        yield line, {h: v.strip() for h, v in zip(header, fields, strict=True) if h}
    if header is None:
        raise CsvFileError(f"{file}: the file is empty (no header line)")
