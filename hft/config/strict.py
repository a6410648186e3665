"""Helpers for strict YAML configuration.

Rules (docs/architecture.md, rule 6): unknown keys, wrong types and bad units are a `ConfigError` naming the file, the key
path and the expected value, raised before any data is loaded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from hft.core.errors import ConfigError
from hft.core.units import parse_duration_ns


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping from `path`; a ConfigError (naming the file) for anything else."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: expected a YAML config file, none exists", file=str(path))
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}:{where}: expected valid YAML ({getattr(exc, 'problem', exc)})",
                          file=str(path)) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, was {type(data).__name__}",
                          file=str(path))
    return data


class Section:
    """A view of one mapping in a config file that knows its file and key path, for precise errors.

    Read values with the typed getters; call `done()` at the end to reject unknown keys.
    """

    def __init__(self, data: Any, file: str | Path | None, path: str = "") -> None:
        self.file = str(file) if file is not None else "<config>"
        self.path = path
        if not isinstance(data, Mapping):
            self._fail(path or "<root>", "a mapping", data)
        self.data: Mapping[str, Any] = data
        self._seen: set[str] = set()

    def _key(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def _fail(self, key: str, expected: str, found: Any) -> None:
        raise ConfigError(f"{self.file}: key '{key}': expected {expected}, was {found!r}",
                          file=self.file, key=key, expected=expected, found=repr(found))

    def has(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str, default: Any = ...) -> Any:
        self._seen.add(key)
        if key not in self.data:
            if default is ...:
                self._fail(self._key(key), "a value (required key missing)", None)
            return default
        return self.data[key]

    def int(self, key: str, default: Any = ..., *, min_value: int | None = None) -> int:
        v = self.raw(key, default)
        if isinstance(v, bool) or not isinstance(v, int):
            self._fail(self._key(key), "an integer", v)
        if min_value is not None and v < min_value:
            self._fail(self._key(key), f"an integer >= {min_value}", v)
        return v

    def float(self, key: str, default: Any = ..., *, min_value: float | None = None) -> float:
        v = self.raw(key, default)
        if isinstance(v, bool) or not isinstance(v, int | float) or v != v:
            self._fail(self._key(key), "a number", v)
        if min_value is not None and v < min_value:
            self._fail(self._key(key), f"a number >= {min_value}", v)
        return float(v)

    def bool(self, key: str, default: Any = ...) -> bool:
        v = self.raw(key, default)
        if not isinstance(v, bool):
            self._fail(self._key(key), "true or false", v)
        return v

    def str(self, key: str, default: Any = ..., *, choices: Iterable[str] | None = None) -> str:
        v = self.raw(key, default)
        if not isinstance(v, str):
            self._fail(self._key(key), "a string", v)
        if choices is not None:
            allowed = list(choices)
            if v not in allowed:
                self._fail(self._key(key), f"one of {allowed}", v)
        return v

    def duration_ns(self, key: str, default: Any = ...) -> int:
        v = self.raw(key, default)
        try:
            return parse_duration_ns(v, key=self._key(key))
        except ConfigError as exc:
            raise ConfigError(f"{self.file}: {exc.message}", file=self.file, key=self._key(key)) from None

    def section(self, key: str, default: Any = ...) -> Section:
        return Section(self.raw(key, default), self.file, self._key(key))

    def done(self) -> None:
        """Raise on keys that were never read (unknown keys)."""
        unknown = sorted(set(self.data) - self._seen)
        if unknown:
            raise ConfigError(
                f"{self.file}: unknown key '{self._key(unknown[0])}': expected one of {sorted(self._seen)}",
                file=self.file, key=self._key(unknown[0]))
