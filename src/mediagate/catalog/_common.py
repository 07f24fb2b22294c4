"""Helpers shared by the validation modules: argument coercion and per-call context."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from mediagate.catalog.registry import Catalog
from mediagate.catalog.schema import ModelEntry
from mediagate.catalog.urls import ParsedURL, check_url
from mediagate.errors import MediagateError


def type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def bad_arg(field: str, expected: str, value: object, message: str | None = None) -> MediagateError:
    return MediagateError(
        "invalid_arguments",
        message or f"{field} must be {expected}, got {type_name(value)}.",
        field=field,
        expected=expected,
    )


def as_str(args: Mapping[str, Any], field: str) -> str | None:
    value = args.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_arg(field, "a string", value)
    return value


def as_bool(field: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise bad_arg(field, "a boolean", value)


#: Larger magnitudes are refused as numbers (they overflow floats and mean nothing here).
MAX_MAGNITUDE = 10**15


def as_number(field: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise bad_arg(field, "a number", value)
    if isinstance(value, int):
        if abs(value) > MAX_MAGNITUDE:
            raise bad_arg(field, "a number of sensible size", value, f"{field} is out of range.")
        return float(value)
    if not math.isfinite(value):
        raise bad_arg(field, "a finite number", value, f"{field} must be a finite number.")
    return value


class Ctx:
    """Per-call state: the catalog, the entry, the warnings gathered so far."""

    __slots__ = ("allow_private", "catalog", "entry", "trusted", "warnings")

    def __init__(
        self,
        catalog: Catalog,
        entry: ModelEntry,
        allow_private: bool,
        trusted: tuple[str, ...] = (),
    ) -> None:
        self.trusted = trusted
        self.catalog = catalog
        self.entry = entry
        self.allow_private = allow_private
        self.warnings: list[str] = []

    def check_url(self, url: str, field: str) -> ParsedURL:
        """``check_url`` that also accepts our own media URLs (outputs fed back as inputs)."""
        for prefix in self.trusted:
            # Prefixes end with "/" (so "http://h:8000" cannot match "http://h:8000.evil/");
            # any dot-segment, encoded or not, disqualifies the URL.
            if url.startswith(prefix) and prefix.endswith("/"):
                parts = urlsplit(url)
                if ".." not in unquote(parts.path) and not parts.query and "\\" not in url:
                    return ParsedURL(parts.scheme, parts.hostname or "", parts.port, parts.path)
        return check_url(url, field=field, allow_private=self.allow_private)

    def ignored(self, field: str, why: str) -> None:
        self.warnings.append(f"{field} is ignored by {self.entry.id}: {why}")
