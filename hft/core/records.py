"""Record declarations: a record's fields declared once, and everything that lays the record out generated from them.

A `Record` is an ordered tuple of `Field`\\ s: name, integer type, unit, doc, an optional enum decoder (code → name)
and the default a store row takes when a writer leaves the field out. From it:

* `Record.dtype` - the numpy structured dtype (fields in declaration order, ``align=True``);
* `Record.index` / `Record.constants` - column positions for kernels that hold the record as an int64 matrix
  (a module assigns them to plain module-level ints, which numba reads as constants); `Record.layout` declares
  a kernel's own row of a record (some of its fields in the kernel's order, plus what only the kernel holds);
* `Record.store_columns` - ``(name, ClickHouse type, default, doc)`` per field, which the recorder turns into its
  topic columns (`hft.recorder.topics.Topic.from_record`) and the store's migrations must create;
* `Record.decode` / `Record.readable` - the names of enum codes, for readable (Parquet / polars) columns;
* `Record.row` - a NamedTuple of the fields in declaration order (a Python view of one row);
* `Record.pack` - a row as a plain tuple, every field given by name (``ORDER_LOG.pack(ts=…, order_id=…, …)``): what
  a Python writer appends and ``np.array(rows, dtype)`` or ``Record.row._make`` read, the field order being the
  declaration's only;
* `Record.widen` - an array of an earlier version of the record (or of the record it extends) in its layout.

`Record.project` declares a subset of a record's fields (in the record's order, with the record's types unless it
re-types one by name): a log that keeps some of a record's fields is such a projection, so a field is declared in
one place. `Record.extend` declares a record holding all of another's fields and more (a simulated venue's report
is an execution report plus its liquidity flag and queue), `Record.layout` one holding some of another's fields in
an order of its own plus its own (a kernel's row, the fill log).

Field types (`TYPES`): ``i1 i2 i4 i8 u1 u2 u4 u8`` (the numpy integer of that width and signedness, the
ClickHouse ``IntN`` / ``UIntN``), ``bool`` (one byte, ClickHouse ``Bool``) and ``time`` (int64 ns UTC,
ClickHouse ``DateTime64(9, 'UTC')``). A record only ever held as a store row (a run's audit row) may also have
`ROW_TYPES` fields: ``str``, ``json`` (a dict or list, stored as its JSON text) and ``f8``; it has no `dtype`. `Field.store` names a different ClickHouse type where the store's differs
(a sequence number held as int64 by the kernels and stored as ``UInt64``).

Schema evolution: a field is only ever *appended*, with ``since`` = the next version of the record (and a
migration ``hft/store/schema/NNN_*.sql`` adding its column: a test applies the migrations and compares).

This module is the lowest layer (`hft.core`): it imports only numpy.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from itertools import pairwise
from typing import Any, NamedTuple

import numpy as np

__all__ = ["ROW_TYPES", "TYPES", "Field", "Record"]

# field type: (numpy dtype, ClickHouse type)
TYPES: dict[str, tuple[str, str]] = {
    "i1": ("i1", "Int8"), "i2": ("<i2", "Int16"), "i4": ("<i4", "Int32"), "i8": ("<i8", "Int64"),
    "u1": ("u1", "UInt8"), "u2": ("<u2", "UInt16"), "u4": ("<u4", "UInt32"), "u8": ("<u8", "UInt64"),
    "bool": ("u1", "Bool"),
    "time": ("<i8", "DateTime64(9, 'UTC')"),
}
# field types of a record only ever held as a store row or a Python row, never as an array (no `dtype`): text, a
# JSON document (a dict or list, the topic serialises it) and a float. field type: (Python type, ClickHouse type)
ROW_TYPES: dict[str, tuple[type, str]] = {"str": (str, "String"), "json": (object, "String"), "f8": (float, "Float64")}


@dataclass(frozen=True)
class Field:
    """One field of a record.

    Args:
        name: the field's name (a dtype field, a store column, a row attribute).
        type: one of `TYPES`.
        unit: what an integer counts (``"ns UTC"``, ``"ticks"``, ``"lots"``, ``"code"`` …); for readers and docs.
        doc: one line on what it is (the store column's COMMENT).
        enum: code → name of an enum field (readable columns show the name).
        default: the value a store row takes when a writer leaves it out (``...``: the writer must give it).
        store: the ClickHouse type when it is not the type's own (``""``: `TYPES`'s).
        since: the record version that added it (1: the first); later fields are appended.
    """

    name: str
    type: str
    unit: str = ""
    doc: str = ""
    enum: Mapping[int, str] | None = None
    default: Any = 0
    store: str = ""
    since: int = 1

    def __post_init__(self) -> None:
        if self.type not in TYPES and self.type not in ROW_TYPES:
            raise ValueError(f"field {self.name}: type: expected one of {[*TYPES, *ROW_TYPES]}, was {self.type!r}")
        if not self.name.isidentifier() or keyword.iskeyword(self.name):
            raise ValueError(f"field {self.name!r}: expected an identifier (not a Python keyword)")
        if self.since < 1:
            raise ValueError(f"field {self.name}: since: expected >= 1, was {self.since}")

    @property
    def numpy_type(self) -> str:
        if self.type in ROW_TYPES:
            raise ValueError(f"field {self.name}: a {self.type} field has no array layout (a row's only)")
        return TYPES[self.type][0]

    @property
    def store_type(self) -> str:
        return self.store or (TYPES[self.type][1] if self.type in TYPES else ROW_TYPES[self.type][1])


@dataclass(frozen=True)
class Record:
    """A record: a name and its fields in layout order (see the module docstring for what is generated)."""

    name: str
    fields: tuple[Field, ...]
    doc: str = ""
    # False for a record built of another's fields in an order of its own (`layout`, `extend`): a kernel's row or
    # an in-memory layout, whose fields need not be in the order of `since`
    appended: bool = field(default=True, repr=False, compare=False)
    _by_name: dict[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name = {f.name: f for f in self.fields}
        if len(by_name) != len(self.fields):
            dup = next(f.name for f in self.fields if sum(g.name == f.name for g in self.fields) > 1)
            raise ValueError(f"record {self.name}: field {dup} declared twice")
        since = [f.since for f in self.fields]
        if self.appended and since != sorted(since):
            late = next(f.name for a, f in pairwise(self.fields) if f.since < a.since)
            raise ValueError(f"record {self.name}: field {late}: fields are appended in the order of `since`")
        object.__setattr__(self, "_by_name", by_name)

    # --- the layout -------------------------------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def version(self) -> int:
        """The record's version: the latest `Field.since`."""
        return max(f.since for f in self.fields)

    def field(self, name: str) -> Field:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"record {self.name}: no field {name!r}: expected one of {list(self.names)}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    @cached_property
    def dtype(self) -> np.dtype:
        """The numpy structured dtype: the fields in order, ``align=True``."""
        return np.dtype([(f.name, f.numpy_type) for f in self.fields], align=True)

    @cached_property
    def index(self) -> dict[str, int]:
        """Each field's column in an int64 matrix of the record (one row per record, the fields in order)."""
        return {f.name: i for i, f in enumerate(self.fields)}

    def constants(self, prefix: str) -> dict[str, int]:
        """``{prefix + NAME: column}`` for every field (NAME upper case), and ``prefix + "COLS"``: the width."""
        out = {prefix + f.name.upper(): i for i, f in enumerate(self.fields)}
        out[prefix + "COLS"] = len(self.fields)
        return out

    def project(self, name: str, names: Iterable[str], doc: str = "", types: Mapping[str, str] | None = None
                ) -> Record:
        """The record of some of these fields, in this record's order (`names` must list them in that order),
        each as declared here except the type of a field `types` names (a log whose files have always held it
        so; the values it holds must fit)."""
        names = tuple(names)
        types = dict(types or {})
        for n in (*names, *types):
            self.field(n)
        if list(names) != [n for n in self.names if n in names]:
            raise ValueError(f"record {name}: a projection of {self.name} lists its fields in {self.name}'s order "
                             f"({', '.join(n for n in self.names if n in names)}), was {', '.join(names)}")
        if set(types) - set(names):
            raise ValueError(f"record {name}: re-types {sorted(set(types) - set(names))}, which it does not keep")
        fields = tuple(replace(self._by_name[n], type=types[n], store="") if n in types else self._by_name[n]
                       for n in names)
        return Record(name, fields, doc)

    def layout(self, name: str, names: Iterable[str], extra: Sequence[Field] = (), doc: str = "") -> Record:
        """A kernel's row of this record: the fields `names` lists, in that order, each a field of this record
        (as declared here) or one of `extra` (what only the kernel's row holds). Its `index` / `constants` are
        the kernel's columns."""
        more = {f.name: f for f in extra}
        names = tuple(names)
        for n in names:
            if n not in more:
                self.field(n)
        if set(more) - set(names):
            raise ValueError(f"record {name}: extra fields {sorted(set(more) - set(names))} are not in its names")
        both = sorted(set(more) & set(self.names))
        if both:
            raise ValueError(f"record {name}: extra field {both[0]} is a field of {self.name} already")
        return Record(name, tuple(more[n] if n in more else self._by_name[n] for n in names), doc, appended=False)

    def extend(self, name: str, extra: Sequence[Field], doc: str = "") -> Record:
        """Every field of this record, in order, then `extra` (what only the extended record holds): a field
        added to this record reaches it, before `extra`."""
        return self.layout(name, (*self.names, *(f.name for f in extra)), extra, doc)

    def widen(self, arr: np.ndarray) -> np.ndarray:
        """A new array of this record's `dtype` holding `arr`, whose fields are this record's first ones in order
        (an earlier version's rows: fields are only appended; or the record this one extends), the fields it
        lacks at their declared defaults."""
        names = arr.dtype.names or ()
        if names != self.names[:len(names)]:
            raise ValueError(f"record {self.name}: expected an array of its first fields in order "
                             f"({', '.join(self.names)}), was {', '.join(names) or arr.dtype}")
        later = self.fields[len(names):]
        for f in later:
            if f.default is ...:
                raise ValueError(f"record {self.name}: field {f.name} has no default to widen an array with")
        out = np.empty(len(arr), self.dtype)
        out[list(names)] = arr[list(names)]  # (by position: the same fields, each as declared)
        for f in later:
            out[f.name] = f.default
        return out

    # --- the store -----------------------------------------------------------------------------------------
    def store_columns(self) -> tuple[tuple[str, str, Any, str], ...]:
        """``(name, ClickHouse type, default, doc)`` of every field, in order."""
        return tuple((f.name, f.store_type, f.default, f.doc) for f in self.fields)

    # --- readers -------------------------------------------------------------------------------------------
    @property
    def enums(self) -> dict[str, Mapping[int, str]]:
        """The enum decoder of each enum field."""
        return {f.name: f.enum for f in self.fields if f.enum is not None}

    def decode(self, name: str, codes: Sequence[Any] | np.ndarray, unnamed: Callable[[Any], Any] = str) -> list[Any]:
        """The names of an enum field's codes; a code without a name shows as ``unnamed(code)`` (its number)."""
        enum = self.field(name).enum
        if enum is None:
            raise ValueError(f"record {self.name}: field {name} is not an enum")
        return [enum.get(c) or unnamed(c) for c in np.asarray(codes).tolist()]

    def readable(self, cols: Mapping[str, Any], unnamed: Callable[[Any], Any] = str) -> dict[str, list[Any]]:
        """``{NAME_name: names}`` for every enum field among `cols` (a column per field); `unnamed` as `decode`."""
        return {f"{n}_name": self.decode(n, cols[n], unnamed) for n in self.enums if n in cols}

    @cached_property
    def row(self) -> type:
        """A NamedTuple of the fields in order (``Record.row(*values)``, ``rows``)."""
        py = {"bool": bool, **{t: p for t, (p, _) in ROW_TYPES.items()}}
        return NamedTuple(_camel(self.name) + "Row", [(f.name, py.get(f.type, int)) for f in self.fields])  # type: ignore[misc]

    @cached_property
    def pack(self) -> Callable[..., tuple]:
        """``pack(**fields)``: a row as a plain tuple of the fields in order, each given by its name (keyword only:
        one left out or not of the record is a `TypeError` naming it). The writer of a log appends these (a tuple
        costs a tenth of a `row`), and ``np.array(rows, dtype)`` / ``row._make`` read them."""
        names = self.names
        if not names:
            return lambda: ()
        # a function generated once per record, as `collections.namedtuple` does: keyword-only parameters, one
        # tuple display (the names are identifiers and no Python keyword: `Field` checks)
        src = f"def pack(*, {', '.join(names)}):\n    return ({', '.join(names)},)\n"
        scope: dict[str, Any] = {}
        exec(compile(src, f"<{self.name}.pack>", "exec"), scope)  # the record's own field names only
        fn = scope["pack"]
        fn.__qualname__ = f"{_camel(self.name)}.pack"
        fn.__doc__ = f"A {self.name} row as a tuple: {', '.join(names)} (each by name)."
        return fn

    def rows(self, arr: np.ndarray) -> list[Any]:
        """Every row of a `dtype` array as a `row`."""
        if arr.dtype != self.dtype:
            raise ValueError(f"record {self.name}: expected an array of its dtype {self.dtype}, was {arr.dtype}")
        row = self.row
        cols = [(arr[f.name] != 0 if f.type == "bool" else arr[f.name]).tolist() for f in self.fields]
        return [row._make(v) for v in zip(*cols, strict=True)]


def _camel(name: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in name.split("_")) or "Row"
