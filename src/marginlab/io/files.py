"""Read TOML or JSON documents with exact numbers (floats become Decimal, never binary floats)."""

from __future__ import annotations

import json
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

from marginlab.errors import DataError


def read_document(path: str | Path) -> dict[str, Any]:
    """Return the top-level table of a ``.toml`` or ``.json`` file, numbers as Decimal.

    Raises
    ------
    DataError
        If the file is missing, has another extension, or does not parse (the message names the file).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".json"):
        raise DataError(f"{path}: expected a .toml or .json file, was {suffix or 'no extension'!r}")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    try:
        if suffix == ".toml":
            doc: Any = tomllib.loads(text, parse_float=Decimal)
        else:
            doc = json.loads(text, parse_float=Decimal)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not valid {suffix[1:].upper()}: {exc}") from exc
    if not isinstance(doc, dict):
        raise DataError(f"{path}: expected a table/object at the top level, was {type(doc).__name__}")
    return doc
