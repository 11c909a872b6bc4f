"""Strict reading of the analyses' small JSON data files (prices, deploy durations): not an analysis itself.

Every check names the offending field in one line, raised as the error class the file's owner chooses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Set
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


class FieldReader:
    """Strict reading of a small JSON data file: every check names the offending field in one line."""

    def __init__(self, path: Path, error: type[Exception]) -> None:
        self.path = path
        self.error = error

    def fail(self, where: str, problem: str) -> Exception:
        return self.error(f"{self.path.name}: {where} {problem}")

    def load(self) -> Any:
        """The file's JSON, decimals as `Decimal`; a duplicate key is an error (JSON would keep the last)."""
        try:
            return json.loads(self.path.read_text(encoding="utf-8"), parse_float=Decimal, object_pairs_hook=_reject_duplicates)
        except OSError as error:
            raise self.error(f"cannot read {self.path}: {error.strerror or error}") from None
        except UnicodeDecodeError:
            raise self.error(f"{self.path.name}: not UTF-8 text") from None
        except ValueError as error:
            raise self.error(f"{self.path.name}: not valid JSON: {error}") from None

    def mapping(self, value: Any, where: str, what: str = "an object") -> dict[str, Any]:
        if not isinstance(value, dict) or (not value and what != "an object"):
            raise self.fail(where, f"must be {what}")
        return dict(value)

    def fields(self, value: Any, where: str, keys: Set[str], optional: Set[str] = frozenset()) -> dict[str, Any]:
        found = self.mapping(value, where)
        missing = sorted(keys - set(found))
        if missing:
            raise self.fail(where, f"lacks {missing[0]!r}")
        unknown = sorted(set(found) - keys - optional)
        if unknown:
            raise self.fail(where, f"has unknown field {unknown[0]!r} (fields: {', '.join(sorted(keys | optional))})")
        return found

    def text(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, "must be a non-empty string")
        return value

    def url(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not re.match(r"^https://[^\s]+$", value):
            raise self.fail(where, "must be an https:// URL")
        return value

    def day(self, value: Any, where: str) -> date:
        if isinstance(value, str) and _DATE.match(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        raise self.fail(where, f"must be a date YYYY-MM-DD, got {value!r}")


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        raise ValueError(f"key {repeated[0]!r} appears twice")
    return dict(pairs)
