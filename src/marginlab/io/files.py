"""Read TOML or JSON documents with exact numbers (floats become Decimal, never binary floats).

Whatever the file holds, reading it either returns a table or raises one :class:`DataError` line naming the
file: bytes that are not UTF-8, nesting deeper than any marginlab format (a 100,000-deep array would
exhaust Python's recursion), integer literals past Python's 4,300-digit limit, duplicate JSON keys (the
last would win silently; TOML refuses them itself). A UTF-8 byte-order mark, as Windows editors write it,
is accepted.
"""

from __future__ import annotations

import json
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

from marginlab.errors import DataError, shown

MAX_DEPTH = 32
"""Deepest nesting of tables and arrays accepted; every marginlab format needs fewer than 6 levels."""


def read_document(path: str | Path) -> dict[str, Any]:
    """Return the top-level table of a ``.toml`` or ``.json`` file, numbers as Decimal.

    Raises
    ------
    DataError
        If the file is missing, has another extension, is not UTF-8, or does not parse (the message names
        the file and, where it can, the line or key).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".json"):
        raise DataError(f"{path}: expected a .toml or .json file, was {suffix or 'no extension'!r}")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    try:
        text = raw.decode("utf-8-sig")  # a leading byte-order mark is dropped
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        bad = raw[exc.start : exc.start + 1].hex()
        raise DataError(
            f"{path}: not UTF-8 text (byte 0x{bad} at offset {exc.start}, line {line}); save it as UTF-8"
        ) from None
    try:
        if suffix == ".toml":
            doc: Any = tomllib.loads(text, parse_float=Decimal)
        else:
            doc = json.loads(text, parse_float=Decimal, object_pairs_hook=_unique_keys)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not valid {suffix[1:].upper()}: {exc}") from None
    except RecursionError:
        raise DataError(f"{path}: nested deeper than {MAX_DEPTH} levels (tables or arrays)") from None
    except ValueError as exc:  # int('1' * 5000): Python refuses integer literals over 4,300 digits
        raise DataError(f"{path}: not valid {suffix[1:].upper()}: {_first_line(exc)}") from None
    if not isinstance(doc, dict):
        raise DataError(f"{path}: expected a table/object at the top level, was {type(doc).__name__}")
    if _depth(doc) > MAX_DEPTH:
        raise DataError(f"{path}: nested deeper than {MAX_DEPTH} levels (tables or arrays)")
    return doc


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Build a JSON object, refusing a key given twice (json keeps the last one silently)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise DataError(f"duplicate key {shown(key)} in one JSON object (the first would be ignored)")
        out[key] = value
    return out


def _depth(value: Any, level: int = 1) -> int:
    """Return the nesting depth of ``value``, stopping once it passes :data:`MAX_DEPTH`."""
    if level > MAX_DEPTH:
        return level
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return max((_depth(child, level + 1) for child in children), default=level)


def _first_line(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "integer string conversion" in text:
        return "an integer literal has more than 4,300 digits; give the number as a string"
    return text
