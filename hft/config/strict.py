"""Helpers for strict YAML configuration.

Rules (docs/architecture.md, rule 6): unknown keys, wrong types and bad units are a `ConfigError` naming the file, the key
path and the expected value, raised before any data is loaded.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NoReturn

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.events import AliasEvent

from hft.core.errors import ConfigError
from hft.core.units import INT64_MAX, parse_duration_ns, parse_size_bytes

#: Bounds of a YAML document: nodes after expanding aliases (an alias bomb of a few hundred bytes expands to
#: billions), nesting depth (deeper is a RecursionError in the parser), and file size.
MAX_YAML_NODES = 200_000
MAX_YAML_DEPTH = 64
MAX_YAML_BYTES = 16 * 1024 * 1024


def _bounded_loader() -> type:
    """A `yaml.SafeLoader` subclass that refuses alias bombs, deep nesting, recursive aliases and duplicate keys."""

    class BoundedLoader(yaml.SafeLoader):
        def __init__(self, stream: Any) -> None:
            super().__init__(stream)
            self._depth = 0
            self._weight: dict[int, int] = {}  # id(node) -> nodes it stands for, aliases expanded
            self._open: set[str] = set()  # anchors whose node is being composed

        def compose_node(self, parent: Any, index: Any) -> Any:
            event = self.peek_event()
            if isinstance(event, AliasEvent) and event.anchor in self._open:
                raise ComposerError(None, None, f"expected no recursive alias, *{event.anchor} refers to its own "
                                    "anchor", event.start_mark)
            self._depth += 1
            if self._depth > MAX_YAML_DEPTH:
                raise ComposerError(None, None, f"expected nesting at most {MAX_YAML_DEPTH} deep",
                                    event.start_mark)
            anchor = getattr(event, "anchor", None) if not isinstance(event, AliasEvent) else None
            if anchor:
                self._open.add(anchor)
            try:
                node = super().compose_node(parent, index)
            finally:
                self._depth -= 1
                if anchor:
                    self._open.discard(anchor)
            if id(node) not in self._weight:
                w = self._weight
                if isinstance(node, yaml.ScalarNode):
                    n = 1
                elif isinstance(node, yaml.SequenceNode):
                    n = 1 + sum(w.get(id(c), 1) for c in node.value)
                else:
                    n = 1 + sum(w.get(id(k), 1) + w.get(id(v), 1) for k, v in node.value)
                if n > MAX_YAML_NODES:
                    raise ComposerError(None, None, f"expected at most {MAX_YAML_NODES:,} values once aliases "
                                        f"are expanded, was {n:,} (an alias bomb?)", event.start_mark)
                w[id(node)] = n
            return node

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            if isinstance(node, yaml.MappingNode):
                seen: dict[Any, Any] = {}
                for key_node, _ in node.value:
                    if key_node.tag == "tag:yaml.org,2002:merge":
                        continue
                    key = self.construct_object(key_node, deep=True)
                    try:
                        first = seen.get(key)
                    except TypeError:
                        continue  # an unhashable key: the base constructor says so
                    if first is not None:
                        raise ConstructorError(None, None, f"expected unique keys, {key!r} is repeated (first at "
                                               f"line {first.line + 1})", key_node.start_mark)
                    seen[key] = key_node.start_mark
            return super().construct_mapping(node, deep=deep)

    return BoundedLoader


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping from `path`; a ConfigError (naming the file) for anything else.

    Safe loading (no Python objects), bounded (:data:`MAX_YAML_NODES` with aliases expanded,
    :data:`MAX_YAML_DEPTH`, :data:`MAX_YAML_BYTES`), duplicate keys and recursive aliases refused.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: expected a YAML config file, {'was a directory' if path.is_dir() else 'none exists'}",
                          file=str(path))
    size = path.stat().st_size
    if size > MAX_YAML_BYTES:
        raise ConfigError(f"{path}: expected a config of at most {MAX_YAML_BYTES:,} bytes, was {size:,}",
                          file=str(path))
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: expected a readable UTF-8 YAML file ({exc.__class__.__name__})",
                          file=str(path)) from None
    try:
        data = yaml.load(text, Loader=_bounded_loader())
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
            self.fail(path or "<root>", "a mapping", data)
        self.data: Mapping[str, Any] = data
        self._seen: set[str] = set()

    def key(self, key: str) -> str:
        """The full key path of `key` in this section (``risk.accounts.a1.max_qty``), for an error message."""
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str, expected: str, found: Any) -> NoReturn:
        """Raise the one-line `ConfigError` of a value this section refuses: ``FILE: key 'KEY': expected
        EXPECTED, was FOUND``. `key` is a full key path (`key`); for checks the typed getters cannot make."""
        raise ConfigError(f"{self.file}: key '{key}': expected {expected}, was {found!r}",
                          file=self.file, key=key, expected=expected, found=repr(found))

    def has(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str, default: Any = ...) -> Any:
        self._seen.add(key)
        if key not in self.data:
            if default is ...:
                k = self.key(key)
                raise ConfigError(f"{self.file}: key '{k}': expected a value, was missing (a required key)",
                                  file=self.file, key=k, expected="a value", found="missing")
            return default
        return self.data[key]

    def int(self, key: str, default: Any = ..., *, min_value: int | None = None,
            max_value: int | None = None) -> int:
        """An integer within [`min_value`, `max_value`]; always within int64 (every config integer becomes one)."""
        v = self.raw(key, default)
        if isinstance(v, bool) or not isinstance(v, int):
            self.fail(self.key(key), "an integer", v)
        low = -INT64_MAX - 1 if min_value is None else min_value
        high = INT64_MAX if max_value is None else min(max_value, INT64_MAX)
        if v < low:
            self.fail(self.key(key), f"an integer >= {low}" + (f" and <= {high}" if max_value else ""), v)
        if v > high:
            self.fail(self.key(key), f"an integer <= {high}", v)
        return v

    def float(self, key: str, default: Any = ..., *, min_value: float | None = None) -> float:
        """A finite number (an integer is taken as a float; nan and inf are refused)."""
        v = self.raw(key, default)
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            self.fail(self.key(key), "a number", v)
        if min_value is not None and v < min_value:
            self.fail(self.key(key), f"a number >= {min_value}", v)
        return float(v)

    def bool(self, key: str, default: Any = ...) -> bool:
        v = self.raw(key, default)
        if not isinstance(v, bool):
            self.fail(self.key(key), "true or false", v)
        return v

    def str(self, key: str, default: Any = ..., *, choices: Iterable[str] | None = None) -> str:
        v = self.raw(key, default)
        if not isinstance(v, str):
            self.fail(self.key(key), "a string", v)
        if choices is not None:
            allowed = list(choices)
            if v not in allowed:
                self.fail(self.key(key), f"one of {allowed}", v)
        return v

    def duration_ns(self, key: str, default: Any = ...) -> int:
        """A duration with its unit (``"300s"``, ``"250ms"``: `hft.core.units.parse_duration_ns`; a bare number
        other than 0 is refused) in int ns. An int `default` is the code's own value, already in ns."""
        v = self.raw(key, default)
        if key not in self.data and isinstance(default, int) and not isinstance(default, bool):
            return default
        try:
            return parse_duration_ns(v, key=self.key(key))
        except ConfigError as exc:
            raise ConfigError(f"{self.file}: {exc.message}", file=self.file, key=self.key(key)) from None

    def size_bytes(self, key: str, default: Any = ..., *, min_value: int = 0) -> int:
        """A size like ``"64MiB"`` or an integer of bytes."""
        v = self.raw(key, default)
        try:
            n = parse_size_bytes(v, key=self.key(key))
        except ConfigError as exc:
            raise ConfigError(f"{self.file}: {exc.message}", file=self.file, key=self.key(key)) from None
        if n < min_value:
            self.fail(self.key(key), f"a size >= {min_value} bytes", v)
        return n

    def section(self, key: str, default: Any = ...) -> Section:
        return Section(self.raw(key, default), self.file, self.key(key))

    def done(self) -> None:
        """Raise on keys that were never read (unknown keys)."""
        unknown = sorted(set(self.data) - self._seen)
        if unknown:
            raise ConfigError(
                f"{self.file}: unknown key '{self.key(unknown[0])}': expected one of {sorted(self._seen)}",
                file=self.file, key=self.key(unknown[0]))
