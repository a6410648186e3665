"""Record schemas of every recorded topic, and their binary encoding.

A *topic* is one store table (``"audit.gateway_decisions"``, ``"sim.fills"`` …). Its Python-side schema here is
the single source of truth for the columns: writers are checked against it *before* anything reaches the WAL,
the loader inserts with it, and ``hft/store/schema/*.sql`` must agree with it (a unit test checks that). A topic of a
declared record (`hft.core.records`; ``audit.gateway_decisions``: `hft.core.orders.DECISION`) takes its numeric
columns from the declaration (`Topic.from_record`).

Encoding
--------
Records are encoded as ClickHouse ``RowBinary`` in column order, so a WAL frame's payload can be shipped to the
store without being decoded again. Two paths produce identical bytes:

* :meth:`Topic.encode_records` - a sequence of mappings (one dict per record); every key is checked (unknown
  keys, missing keys, wrong types and out-of-range integers raise :class:`~hft.core.errors.StoreError`).
* :meth:`Topic.encode_array` - a numpy structured array for the numeric columns plus per-batch constants for
  the string columns (``const={"run_id": "…"}``). This is the fast path of the gateway and the simulator,
  whose kernels already produce structured arrays.

Column types: ``UInt8/16/32/64``, ``Int8/16/32/64``, ``Float64``, ``Bool``, ``String`` (also used for JSON
documents: a dict/list is serialised with sorted keys), ``LowCardinality(String)``, ``DateTime64(9, 'UTC')``
(int ns) and ``UInt128`` (the record id).

Record ids
----------
Every row has ``record_id UInt128``. A caller may pass it (an int, or a 32-hex-digit string such as
:func:`hft.core.ids.stable_id`); otherwise the writer derives it from its id namespace and a per-topic sequence
(see :class:`hft.recorder.wal_first.WALFirstWriter`). The id is stored in the WAL, so loading a record twice
yields the same id, and the tables are ``ReplacingMergeTree`` ordered by it.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hft.core.errors import StoreError
from hft.core.jsonable import json_default
from hft.core.orders import DECISION, FILL, ORDER_EVENT, SIM_RUN
from hft.core.records import TYPES, Record

__all__ = [
    "TOPICS",
    "Column",
    "Topic",
    "get_topic",
    "parse_record_id",
    "record_id_hex",
]

# the numpy type of each ClickHouse numeric type: `hft.core.records.TYPES` (a record field's), and Float64
_NUMPY_TYPES: dict[str, str] = {**{ch: np_ for np_, ch in TYPES.values()}, "Float64": "<f8"}
_STRUCT_CODES = {("i", 1): "b", ("i", 2): "h", ("i", 4): "i", ("i", 8): "q",
                 ("u", 1): "B", ("u", 2): "H", ("u", 4): "I", ("u", 8): "Q"}
# the integer types (Bool apart): type -> (struct code, min, max)
_INT_TYPES: dict[str, tuple[str, int, int]] = {
    ch: (_STRUCT_CODES[np.dtype(np_).kind, np.dtype(np_).itemsize], int(np.iinfo(np_).min), int(np.iinfo(np_).max))
    for ch, np_ in _NUMPY_TYPES.items() if ch != "Bool" and np.dtype(np_).kind in "iu"}
_STRING_TYPES = ("String", "LowCardinality(String)")
_ALL_TYPES = (*_INT_TYPES, "Float64", "Bool", "UInt128", *_STRING_TYPES)
_U64 = 2**64
_RID = struct.Struct("<QQ")


def parse_record_id(value: Any, *, topic: str = "") -> int:
    """A record id as an int in [0, 2**128): accepts an int or a 32-hex-digit string (``stable_id``)."""
    if isinstance(value, bool):
        raise StoreError(f"{topic}: record_id: expected an int or 32 hex digits, was {value!r}", topic=topic)
    if isinstance(value, int):
        rid = value
    elif isinstance(value, str) and len(value) == 32:
        try:
            rid = int(value, 16)
        except ValueError:
            raise StoreError(f"{topic}: record_id: expected 32 hex digits, was {value!r}", topic=topic) from None
    else:
        raise StoreError(f"{topic}: record_id: expected an int or 32 hex digits, was {value!r}", topic=topic)
    if not 0 <= rid < 2**128:
        raise StoreError(f"{topic}: record_id: expected 0 <= id < 2**128, was {rid}", topic=topic)
    return rid


def record_id_hex(rid: int) -> str:
    """The 32-hex-digit form of a record id (as ``hex(record_id)`` in ClickHouse shows it, lower case)."""
    return f"{rid:032x}"


def _sql_literal(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    return "'" + str(v).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _varint(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


@dataclass(frozen=True)
class Column:
    """One column: name, ClickHouse type, and an optional default used when a record omits it."""
    name: str
    type: str
    default: Any = ...
    doc: str = ""

    def __post_init__(self) -> None:
        if self.type not in _ALL_TYPES:
            raise StoreError(f"column {self.name}: expected one of {list(_ALL_TYPES)}, was {self.type!r}")

    @property
    def is_string(self) -> bool:
        return self.type in _STRING_TYPES


@dataclass(frozen=True)
class Topic:
    """A recorded table: ``database.table``, a stable numeric id used in WAL frames, a version and columns.

    `columns` excludes ``record_id`` (always first, UInt128) and includes ``ts`` (DateTime64(9, 'UTC'), int ns).

    Schema evolution: columns are only ever *appended* (by a new ``hft/store/schema/NNN_*.sql`` migration with
    ``ADD COLUMN IF NOT EXISTS``) and the topic's version bumped. `legacy` lists the earlier versions as
    ``(version, number of columns then)``, so WAL frames written by an older build still load: the loader
    inserts them with that version's leading column names and the store fills the newer columns' defaults.
    """
    name: str
    topic_id: int
    version: int
    columns: tuple[Column, ...]
    doc: str = ""
    critical_policy: str = "write"
    legacy: tuple[tuple[int, int], ...] = ()
    record: Record | None = field(default=None, compare=False, repr=False)  # its declaration (`from_record`)
    _names: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_names", frozenset(c.name for c in self.columns))
        if "record_id" in self._names:
            raise StoreError(f"{self.name}: record_id is implicit, do not declare it")
        if self.critical_policy not in ("halt", "drop", "write"):
            raise StoreError(f"{self.name}: critical_policy: expected halt|drop|write, was {self.critical_policy!r}")

    @classmethod
    def from_record(cls, name: str, topic_id: int, record: Record, lead: Sequence[Column] = (),
                    tail: Sequence[Column] = (), doc: str = "", critical_policy: str = "write",
                    after: Mapping[str, Sequence[Column]] | None = None) -> Topic:
        """The topic of a declared record (`hft.core.records`): its numeric columns are the record's fields,
        so a record array is written as is (`encode_array`). Columns: the record's ``ts``, `lead`, the record's
        other first-version fields in order (each followed by the columns `after` lists under its name: a
        ``symbol_name`` beside the ``symbol`` index), `tail`, then the fields of each later record version
        (appended, as their migrations add them). The topic's version is the record's; `legacy` follows from the
        fields' ``since``."""
        if "ts" not in record:
            raise StoreError(f"{name}: record {record.name}: expected a ts field (every topic's second column)")
        after = dict(after or {})
        wrong = [n for n in after if n not in record or n == "ts" or record.field(n).since != 1]
        if wrong:
            raise StoreError(f"{name}: after: expected first-version fields of record {record.name} but ts, "
                             f"was {wrong[0]!r}")
        cols = {f.name: Column(n, t, d, doc_) for f, (n, t, d, doc_) in zip(record.fields, record.store_columns(),
                                                                             strict=True)}
        first = [c for f in record.fields if f.since == 1 and f.name != "ts"
                 for c in (cols[f.name], *after.get(f.name, ()))]
        later = [(f.since, cols[f.name]) for f in record.fields if f.since > 1]
        columns = (cols["ts"], *lead, *first, *tail, *(c for _, c in later))
        n1 = 1 + len(lead) + len(first) + len(tail)
        legacy = tuple((v, n1 + sum(s <= v for s, _ in later)) for v in range(1, record.version))
        return cls(name, topic_id, record.version, columns, doc, critical_policy, legacy, record)

    def add_column_sql(self, name: str) -> str:
        """The migration statement that adds column `name` to this topic's table (``hft/store/schema/NNN_*.sql``:
        a field appended to a record needs one)."""
        col = next((c for c in self.columns if c.name == name), None)
        if col is None:
            raise StoreError(f"{self.name}: no column {name!r}", topic=self.name, key=name)
        default = "" if col.default is ... else f" DEFAULT {_sql_literal(col.default)}"
        comment = f" COMMENT {_sql_literal(col.doc)}" if col.doc else ""
        return f"ALTER TABLE {self.name} ADD COLUMN IF NOT EXISTS {col.name} {col.type}{default}{comment}"

    @property
    def database(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def table(self) -> str:
        return self.name.split(".", 1)[1]

    @property
    def column_names(self) -> tuple[str, ...]:
        """All column names in insert order, ``record_id`` first."""
        return ("record_id", *(c.name for c in self.columns))

    def column_names_of_version(self, version: int) -> tuple[str, ...] | None:
        """Insert column names of frames written at topic `version` (None for a version this build can't load)."""
        if version == self.version:
            return self.column_names
        for v, n in self.legacy:
            if v == version:
                return self.column_names[:1 + n]
        return None

    # --- dict path ---------------------------------------------------------------------------------------
    def check_record(self, record: Mapping[str, Any]) -> None:
        """Raise StoreError for unknown keys (missing keys and bad values are caught by encoding)."""
        unknown = set(record) - self._names - {"record_id"}
        if unknown:
            raise StoreError(
                f"{self.name}: unknown field '{sorted(unknown)[0]}': expected one of {sorted(self._names)}",
                topic=self.name, key=sorted(unknown)[0])

    def encode_records(self, records: Sequence[Mapping[str, Any]], record_ids: Sequence[int]) -> bytes:
        """RowBinary for `records` (record ids already resolved, one per record).

        Uses a per-topic encoder generated once (struct groups for runs of fixed-width columns); any value it
        cannot pack is re-checked by the slow path, which raises the precise StoreError.
        """
        enc = self.__dict__.get("_encoder")
        if enc is None:
            enc = _compile_encoder(self)
            object.__setattr__(self, "_encoder", enc)
        return enc(records, record_ids)

    def encode_records_slow(self, records: Sequence[Mapping[str, Any]], record_ids: Sequence[int]) -> bytes:
        """Reference encoder (value by value); raises the precise StoreError for a bad value."""
        parts: list[bytes] = []
        append = parts.append
        for rec, rid in zip(records, record_ids, strict=True):
            self.check_record(rec)
            append(_RID.pack(rid % _U64, rid // _U64))
            for col in self.columns:
                append(_encode_value(self.name, col, rec.get(col.name, col.default)))
        return b"".join(parts)

    # --- numpy path --------------------------------------------------------------------------------------
    def encode_array(self, arr: Any, record_ids_lo: Any, record_id_hi: int,
                     const: Mapping[str, Any] | None = None,
                     strings: Mapping[str, Sequence[str]] | None = None) -> bytes:
        """RowBinary bytes of an array batch (see :meth:`encode_array_view`)."""
        return bytes(self.encode_array_view(arr, record_ids_lo, record_id_hi, const, strings))

    def encode_array_view(self, arr: Any, record_ids_lo: Any, record_id_hi: int,
                          const: Mapping[str, Any] | None = None,
                          strings: Mapping[str, Sequence[str]] | None = None) -> memoryview:
        """RowBinary (a byte view, no copy) for a structured array: numeric columns from `arr`, string columns
        from `const` (one value per batch) or `strings` (one value per row).

        Args:
            arr: numpy structured array with a field per numeric column (missing fields use the column
                default, which must exist).
            record_ids_lo: uint64 array, the low 64 bits of each record id.
            record_id_hi: the high 64 bits shared by the batch.
            const: values for string columns (one per batch) and optionally numeric constants.
            strings: per-row values of string columns (a `row_join.StringColumn` per column).

        What depends only on the array's dtype, the constants and the string columns' names (the checks, the
        template, the column copies) is worked out once and memoised. Up to `_FEW_ROWS` rows whose columns are
        byte copies of the topic's types are packed whole by one numba call (`row_join.pack_rows`: a writer step
        of one order pays a few calls, not numpy's per-call cost per column); larger batches get their fixed-width
        part from numpy's column copies and their strings cut in by one numba call (`row_join.join_rows`). Both
        give the dict path's bytes.
        """
        const = const or _NONE
        strings = strings or _NONE
        key = (arr.dtype, tuple(const.items()), tuple(strings))
        plans = self.__dict__.get("_plans")
        if plans is None:
            plans = {}
            object.__setattr__(self, "_plans", plans)
        plan = plans.get(key)
        if plan is None:
            if len(plans) > 64:  # consts that keep changing: start over rather than grow
                plans.clear()
            plan = plans[key] = _plan_of(self, arr.dtype, const, strings)
        n = len(arr)
        rj = plan.row_join
        for name, vals in strings.items():
            if rj.column_length(vals) != n:
                raise StoreError(f"{self.name}: per-row strings '{name}': expected {n} values, was "
                                 f"{rj.column_length(vals)}", topic=self.name, key=name)
        if not n:
            return memoryview(b"")
        if n <= _FEW_ROWS and plan.gather is not None:  # one numba call for the whole payload
            buf, bad = rj.pack_rows(np.frombuffer(np.ascontiguousarray(arr), np.uint8).reshape(n, arr.dtype.itemsize),
                                 plan.tmpl, plan.gather_rows, np.ascontiguousarray(record_ids_lo, np.uint64),
                                 record_id_hi, plan.offs, plan.cols, strings, plan.refuse)
            if bad >= 0:
                self._out_of_range(arr, *plan.checked[plan.gather[bad][3]])
            return memoryview(buf)
        width = len(plan.tmpl)
        buf = np.empty(n * width, np.uint8)  # the rows' fixed parts, as bytes (no structured array to build)
        fixed = buf.reshape(n, width)
        fixed[:] = plan.tmpl  # every constant column at once
        fixed[:, :8] = np.ascontiguousarray(record_ids_lo, np.uint64).view(np.uint8).reshape(n, 8)
        fixed[:, 8:16] = np.frombuffer(int(record_id_hi).to_bytes(8, "little"), np.uint8)
        if plan.gather is not None:  # the array's columns as byte copies, a few runs of columns at once
            src = np.frombuffer(np.ascontiguousarray(arr), np.uint8).reshape(n, arr.dtype.itemsize)
            for s, d, size, check in plan.gather:
                if check >= 0 and int(src[:, s + size - 1].max()) >= 0x80:  # the other sign's top bit
                    self._out_of_range(arr, *plan.checked[check])
                fixed[:, d:d + size] = src[:, s:s + size]
        else:  # numpy converts (narrowing checked first, widening, bools, floats)
            for name, info in plan.checked:
                src = arr[name]
                if int(src.min()) < info.min or int(src.max()) > info.max:
                    self._out_of_range(arr, name, info)
            if plan.columns:  # every array column in one (C-level, field by position) assignment
                out = buf.view(plan.template.dtype)
                out[plan.columns] = arr[plan.columns]
        if not plan.cols:
            return memoryview(buf)
        return memoryview(rj.join_rows(fixed, plan.offs, plan.cols, strings, plan.refuse))

    def _out_of_range(self, arr: Any, name: str, info: Any) -> None:
        src = arr[name]
        raise StoreError(f"{self.name}: field '{name}': expected values in [{info.min}, {info.max}] ({info.dtype}), "
                         f"was {int(src.min())}..{int(src.max())}", topic=self.name, key=name)


_NONE: Mapping[str, Any] = {}
_FEW_ROWS = 32  # up to this many rows `row_join.pack_rows` packs a batch whole; past it numpy's column copies win


@dataclass(frozen=True)
class _Plan:
    """How `Topic.encode_array_view` packs batches of one dtype with given constants and string columns."""

    template: np.ndarray  # one fixed row (record id, numeric columns, constants as bytes) as a structured array
    tmpl: np.ndarray  # its bytes
    columns: list[str]  # the array's columns
    checked: list[tuple[str, Any]]  # (column, iinfo of its type) where a value of the array's type may not fit
    gather: list[tuple[int, int, int, int]] | None  # byte copies (see `_gather`), None: numpy converts
    gather_rows: np.ndarray | None  # the same as an int64 array (`row_join.pack_rows`)
    offs: np.ndarray  # where each string column is cut into the fixed row
    cols: list[str]  # the string columns, in that order
    refuse: Any  # refuse(column, value): the StoreError of a string column's value that is not a string
    # `hft.recorder.row_join` (numba kernels), loaded with a topic's first plan: what only reads the WAL or the
    # store (the loader, `hft alpha status`) never loads numba
    row_join: Any


def _plan_of(topic: Topic, dtype: np.dtype, const: Mapping[str, Any], strings: Mapping[str, Any]) -> _Plan:
    """`Topic.encode_array_view`'s plan for batches of `dtype` with these constants and string columns (every
    check that depends on nothing else is made here, once)."""
    from hft.recorder import row_join  # lazy: numba, see `_Plan.row_join`
    unknown = set(const) - topic._names
    if unknown:
        raise StoreError(f"{topic.name}: unknown const field '{sorted(unknown)[0]}'", topic=topic.name)
    by_name = {c.name: c for c in topic.columns}
    for name in strings:
        col = by_name.get(name)
        if col is None or not col.is_string or name in const:
            raise StoreError(f"{topic.name}: per-row strings: expected a string column not in const, was "
                             f"'{name}'", topic=topic.name, key=name)
    fields = set(dtype.names or ())
    if "record_id" in fields:
        raise StoreError(f"{topic.name}: array batches get auto-assigned record ids: expected no 'record_id' "
                         "field (use the dict path for explicit ids)", topic=topic.name, key="record_id")
    bad = fields - topic._names
    if bad:
        raise StoreError(f"{topic.name}: unknown array field '{sorted(bad)[0]}': expected one of "
                         f"{sorted(topic._names)}", topic=topic.name, key=sorted(bad)[0])
    names: list[str] = ["rid_lo", "rid_hi"]
    formats: list[str] = ["<u8", "<u8"]
    consts: list[tuple[str, Any]] = []
    columns: list[tuple[str, np.dtype]] = []
    cuts: list[tuple[int, str]] = []  # (index of the next fixed field, per-row column joined there)
    for col in topic.columns:
        if col.name in strings:
            cuts.append((len(names), col.name))
            continue
        if col.name in const or col.name not in fields:
            v = const.get(col.name, col.default)
            if v is ...:
                raise StoreError(f"{topic.name}: field '{col.name}': expected an array field or a const, was "
                                 "missing", topic=topic.name, key=col.name)
            b = _encode_value(topic.name, col, v)
            names.append(col.name)
            formats.append(f"V{len(b)}" if len(b) else "V0")
            if b:
                consts.append((col.name, np.frombuffer(b, dtype=f"V{len(b)}")[0]))
            continue
        if col.is_string or col.type == "UInt128":
            raise StoreError(f"{topic.name}: field '{col.name}' ({col.type}) cannot come from an array; pass it in "
                             "const", topic=topic.name, key=col.name)
        target = np.dtype(_NUMPY_TYPES[col.type])
        src = dtype[col.name]
        if src != target and src.kind == "f" and target.kind != "f":
            raise StoreError(f"{topic.name}: field '{col.name}': expected integers ({col.type}), was {src}",
                             topic=topic.name, key=col.name)
        names.append(col.name)
        formats.append(target.str)
        columns.append((col.name, target))
    template = np.zeros(1, dtype=np.dtype({"names": names, "formats": formats}))
    for name, value in consts:
        template[name] = value
    checked = []  # (column, iinfo of its target) where a value of the array's type may not fit
    for name, target in columns:
        src = dtype[name]
        if src != target and src.kind in "iub" and target.kind in "iu" and (
                src.kind == "b" or np.iinfo(src).max > np.iinfo(target).max or np.iinfo(src).min < np.iinfo(target).min):
            checked.append((name, np.iinfo(target)))
    fixed = template.dtype.fields
    width = template.dtype.itemsize
    offs = np.array([fixed[names[i]][1] if i < len(names) else width for i, _ in cuts], np.int64)
    gather = _gather(dtype, fixed, columns, [name for name, _ in checked])

    def refuse(col: str, v: Any) -> None:
        raise StoreError(f"{topic.name}: field '{col}': expected a string, was {v!r}", topic=topic.name, key=col)

    return _Plan(template, template.view(np.uint8).copy(), [name for name, _ in columns], checked, gather,
                 None if gather is None else np.array(gather, np.int64).reshape(-1, 4), offs, [c for _, c in cuts],
                 refuse, row_join)


def _gather(dtype: np.dtype, fixed: Mapping[str, Any], columns: list[tuple[str, np.dtype]],
            checked: list[str]) -> list[tuple[int, int, int, int]] | None:
    """The byte copies that put the array's columns into the fixed row: (source offset, fixed offset, size,
    index of the column in `checked` or -1), adjacent unchecked ones merged; None when a column is not a byte copy
    of its type (another size, a bool or float converted, big-endian). A same-size integer of the other sign is
    one, checked: its value fits when its top bit is clear."""
    rows: list[list[int]] = []
    for name, target in columns:
        src = dtype.fields[name][0]
        check = -1
        if src != target:
            if not (src.kind in "iu" and target.kind in "iu" and src.itemsize == target.itemsize
                    and src.str[0] in "<|" and target.str[0] in "<|"):
                return None
            check = checked.index(name)
        s, d, size = dtype.fields[name][1], fixed[name][1], target.itemsize
        if check < 0 and rows and rows[-1][3] < 0 and rows[-1][0] + rows[-1][2] == s and \
                rows[-1][1] + rows[-1][2] == d:
            rows[-1][2] += size
            continue
        rows.append([s, d, size, check])
    return [(s, d, size, check) for s, d, size, check in rows]


def _encode_value(topic: str, col: Column, v: Any) -> bytes:
    t = col.type
    if v is ...:
        raise StoreError(f"{topic}: field '{col.name}': expected a value ({t}), was missing",
                         topic=topic, key=col.name)
    if t in _STRING_TYPES:
        if isinstance(v, str):
            b = v.encode()
        elif isinstance(v, dict | list):
            b = json.dumps(v, sort_keys=True, separators=(",", ":"), default=json_default).encode()
        elif isinstance(v, bytes):
            b = v
        else:
            raise StoreError(f"{topic}: field '{col.name}': expected a string ({t}), was {v!r}",
                             topic=topic, key=col.name)
        return _varint(len(b)) + b
    if t in _INT_TYPES:
        code, lo, hi = _INT_TYPES[t]
        if isinstance(v, bool) or not isinstance(v, int):
            if not isinstance(v, np.integer):
                raise StoreError(f"{topic}: field '{col.name}': expected an integer ({t}), was {v!r}",
                                 topic=topic, key=col.name)
            v = int(v)
        if not lo <= v <= hi:
            raise StoreError(f"{topic}: field '{col.name}': expected {lo} <= value <= {hi} ({t}), was {v}",
                             topic=topic, key=col.name)
        return struct.pack("<" + code, v)
    if t == "Bool":
        if not isinstance(v, bool | int) or v not in (0, 1):
            raise StoreError(f"{topic}: field '{col.name}': expected a bool, was {v!r}", topic=topic, key=col.name)
        return b"\x01" if v else b"\x00"
    if t == "Float64":
        if isinstance(v, bool) or not isinstance(v, int | float):
            try:
                v = float(v)
            except (TypeError, ValueError):
                raise StoreError(f"{topic}: field '{col.name}': expected a number, was {v!r}",
                                 topic=topic, key=col.name) from None
        return struct.pack("<d", v)
    if t == "UInt128":
        rid = parse_record_id(v, topic=topic)
        return _RID.pack(rid % _U64, rid // _U64)
    raise StoreError(f"{topic}: field '{col.name}': unsupported type {t}")  # pragma: no cover



def _compile_encoder(topic: Topic) -> Any:
    """Generate the fast RowBinary encoder of a topic (plain Python source, compiled once per process)."""
    ns: dict[str, Any] = {"_U64M": _U64 - 1, "_slow": None,
                          "_json": json.dumps, "_Err": struct.error, "_SE": StoreError, "_ALLOWED": None}
    lines = ["def _enc(records, rids):",
             "    out = []",
             "    ap = out.append",
             "    try:",
             "        for rec, rid in zip(records, rids, strict=True):",
             "            if not rec.keys() <= _ALLOWED:",
             "                raise _Err('unknown key')",
             "            g = rec.get"]
    group_codes: list[str] = ["QQ"]
    group_vals: list[str] = ["rid & _U64M", "rid >> 64"]
    n_struct = 0

    def flush() -> None:
        nonlocal n_struct, group_codes, group_vals
        if group_codes:
            name = f"_S{n_struct}"
            ns[name] = struct.Struct("<" + "".join(group_codes))
            lines.append(f"            ap({name}.pack({', '.join(group_vals)}))")
            n_struct += 1
            group_codes, group_vals = [], []

    for i, col in enumerate(topic.columns):
        ns[f"_D{i}"] = col.default
        get = f"g({col.name!r}, _D{i})"
        if col.is_string:
            flush()
            lines += [f"            v = {get}",
                      "            e = _SC.get(v) if v.__class__ is str else None",
                      "            if e is None:",
                      "                e = _senc(v)",
                      "            ap(e)"]
        elif col.type == "Bool":
            lines += [f"            v{i} = {get}",
                      f"            if v{i} is not True and v{i} is not False and v{i} != 0 and v{i} != 1:",
                      "                raise _Err('bool')"]
            group_codes.append("B")
            group_vals.append(f"v{i}")
        elif col.type == "Float64":
            group_codes.append("d")
            group_vals.append(get)
        elif col.type == "UInt128":
            flush()
            lines.append(f"            ap(_u128({get}))")
        else:
            group_codes.append(_INT_TYPES[col.type][0])
            group_vals.append(get)
    flush()
    lines += ["    except (_Err, TypeError, ValueError, AttributeError):",
              "        return _slow(records, rids)",
              "    return b''.join(out)"]

    def _str(v: Any) -> bytes:
        if isinstance(v, dict | list):
            return json.dumps(v, sort_keys=True, separators=(",", ":"), default=json_default).encode()
        if isinstance(v, bytes):
            return v
        raise TypeError("not a string")

    cache: dict[str, bytes] = {}

    def _senc(v: Any) -> bytes:
        """varint length + bytes of a string column value; short strings are memoised (symbols, run ids)."""
        if v.__class__ is str:
            b = v.encode()
            out = _varint(len(b)) + b
            if len(b) <= 64:
                if len(cache) >= 4096:
                    cache.clear()
                cache[v] = out
            return out
        b = _str(v)
        return _varint(len(b)) + b

    def _u128(v: Any) -> bytes:
        rid = parse_record_id(v, topic=topic.name)
        return _RID.pack(rid % _U64, rid // _U64)

    ns.update(_str=_str, _senc=_senc, _SC=cache, _u128=_u128, _slow=topic.encode_records_slow,
              _ALLOWED=frozenset(c.name for c in topic.columns) | {"record_id"})
    exec(compile("\n".join(lines), f"<encoder {topic.name}>", "exec"), ns)
    return ns["_enc"]


# --- the topics ----------------------------------------------------------------------------------------------
_TS = Column("ts", "DateTime64(9, 'UTC')", doc="event time, int ns UTC (the run clock for sim and gateway rows)")
_LC = "LowCardinality(String)"


def _c(name: str, type_: str, default: Any = ..., doc: str = "") -> Column:
    return Column(name, type_, default, doc)


TOPICS: dict[str, Topic] = {t.name: t for t in (
    # the numeric columns are hft.core.orders.DECISION's fields, so a DECISION_DTYPE array is written as is:
    # writer.write_array("audit.gateway_decisions", decisions, const={"run_id": run_id})
    Topic.from_record("audit.gateway_decisions", 1, DECISION, lead=(
        _c("run_id", "String", "", "replay run id, empty for a live process"),
    ), tail=(
        _c("account_name", _LC, ""),
        _c("strategy_name", _LC, ""),
        _c("symbol_name", _LC, ""),
        _c("reason_name", _LC, "", "name of the reason code"),
        _c("policy_state", _LC, "", "ACTIVE | REDUCING | HALTED ..."),
        _c("details", "String", "{}", "JSON document"),
    ), doc="every gateway decision, accepted or denied", critical_policy="write"),
    Topic("audit.policy_transitions", 2, 1, (
        _TS,
        _c("run_id", "String", ""),
        _c("scope", _LC, "", "global | account | symbol | alpha ..."),
        _c("key", "String", "", "what the scope applies to (account id, symbol ...)"),
        _c("from_state", _LC),
        _c("to_state", _LC),
        _c("reason", "String", ""),
        _c("actor", _LC, "", "who or what caused it (risk limit, operator, kill switch)"),
        _c("details", "String", "{}", "JSON document"),
    ), "trading-state changes of the gateway policy", "write"),
    Topic("audit.alpha_gate_decisions", 3, 2, (
        _TS,
        _c("alpha_id", _LC),
        _c("gate", _LC, doc="A | B | C | D | E or a gate name"),
        _c("passed", "Bool"),
        _c("metric", _LC, "", "the deciding statistic (e.g. dsr, pbo)"),
        _c("value", "Float64", 0.0),
        _c("threshold", "Float64", 0.0),
        _c("experiment_id", "String", ""),
        _c("code_hash", "String", ""),
        _c("data_hash", "String", ""),
        _c("details", "String", "{}", "JSON document (all statistics)"),
        # version 2 (002_alpha_audit.sql)
        _c("version", _LC, "", "alpha version"),
        _c("run_id", "String", "", "validate / promote run id"),
        _c("thresholds", "String", "{}", "JSON document (every threshold in force)"),
        _c("reasons", "String", "[]", "JSON list of reasons (why it failed, or notes)"),
        _c("host", _LC, ""),
        _c("user", _LC, ""),
    ), "alpha validation / promotion gate verdicts", "write", legacy=((1, 11),)),
    Topic("audit.alpha_promotions", 4, 3, (
        _TS,
        _c("alpha_id", _LC),
        _c("from_stage", _LC),
        _c("to_stage", _LC),
        _c("decision", _LC, doc="promoted | refused | demoted | retired"),
        _c("actor", _LC, ""),
        _c("promotion_file", "String", ""),
        _c("code_hash", "String", ""),
        _c("reason", "String", ""),
        _c("details", "String", "{}", "JSON document"),
        # version 2 (002_alpha_audit.sql)
        _c("version", _LC, "", "alpha version"),
        _c("data_hash", "String", ""),
        _c("experiment_id", "String", ""),
        _c("run_id", "String", "", "gate D replay run id"),
        _c("reasons", "String", "[]", "JSON list of reasons"),
        _c("approvers", "String", "[]", "JSON list of approvers"),
        _c("forced", "Bool", False, "refused gates overridden with --force --reason"),
        _c("host", _LC, ""),
        _c("user", _LC, ""),
        # version 3 (003_promotion_record.sql): the promotion record, hash-chained (hft/alpha/records/ledger.py)
        _c("promotion_id", "String", "", "YYYYMMDD/alpha_id of the promotion file"),
        _c("prev_hash", "String", "", "record_hash of the promotion's previous step ('' for the promote step)"),
        _c("record_hash", "String", "", "BLAKE2b of prev_hash and record: the chain of the promotion's steps"),
        _c("record", "String", "", "the promotion document after this step (canonical JSON)"),
    ), "alpha stage transitions", "write", legacy=((1, 10), (2, 19))),
    Topic("audit.alpha_canary_decisions", 5, 3, (
        _TS,
        _c("alpha_id", _LC),
        _c("canary_id", "String", ""),
        _c("decision", _LC, doc="hold | escalate | rollback | graduate ..."),
        _c("metric", _LC, ""),
        _c("value", "Float64", 0.0),
        _c("threshold", "Float64", 0.0),
        _c("reason", "String", ""),
        _c("details", "String", "{}", "JSON document"),
        # version 2 (002_alpha_audit.sql)
        _c("version", _LC, "", "alpha version"),
        _c("code_hash", "String", ""),
        _c("from_state", _LC, "", "lifecycle state before the decision"),
        _c("to_state", _LC, "", "lifecycle state after the decision"),
        _c("reasons", "String", "[]", "JSON list of reasons"),
        _c("run_id", "String", "", "observations run id"),
        _c("host", _LC, ""),
        _c("user", _LC, ""),
        # version 3 (003_promotion_record.sql): the promotion record, hash-chained (hft/alpha/records/ledger.py)
        _c("promotion_id", "String", "", "YYYYMMDD/alpha_id of the promotion file"),
        _c("prev_hash", "String", "", "record_hash of the promotion's previous step ('' for the promote step)"),
        _c("record_hash", "String", "", "BLAKE2b of prev_hash and record: the chain of the promotion's steps"),
        _c("record", "String", "", "the promotion document after this step (canonical JSON)"),
    ), "canary monitoring decisions", "write", legacy=((1, 9), (2, 17))),
    Topic("audit.alpha_experiments", 6, 2, (
        _TS,
        _c("experiment_id", "String"),
        _c("alpha_id", _LC),
        _c("trial", "UInt64", 0, "trial number within the experiment (every trial is counted)"),
        _c("kind", _LC, "", "validate | search | backtest ..."),
        _c("params", "String", "{}", "JSON document"),
        _c("metrics", "String", "{}", "JSON document"),
        _c("code_hash", "String", ""),
        _c("data_hash", "String", ""),
        _c("seed", "UInt64", 0),
        _c("status", _LC, ""),
        # version 2 (002_alpha_audit.sql)
        _c("family", _LC, "", "alpha family: trials of one family are counted together for DSR / PBO"),
        _c("version", _LC, "", "alpha version"),
        _c("host", _LC, ""),
        _c("user", _LC, ""),
        _c("started_ts", "DateTime64(9, 'UTC')", 0, "trial start, int ns UTC"),
        _c("finished_ts", "DateTime64(9, 'UTC')", 0, "trial end, int ns UTC"),
    ), "the experiments registry: every trial", "write", legacy=((1, 11),)),
    # the columns are hft.core.orders.SIM_RUN's fields (symbols, wall_ts, wall_s: version 2,
    # 004_sim_runs_symbols_wall_time.sql)
    Topic.from_record("sim.runs", 7, SIM_RUN, doc="one row per simulator run"),
    # order events of a run: commands sent (hft.core.orders.COMMAND_DTYPE, source='command') and execution
    # reports received (EXEC_REPORT_DTYPE, source='report'); both arrays are written as they are. The numeric
    # columns are hft.core.orders.ORDER_EVENT's fields (fee_frac: version 2, 005_exact_fees.sql).
    Topic.from_record("sim.orders", 8, ORDER_EVENT, lead=(
        _c("run_id", "String"),
        _c("source", _LC, "", "command | report"),
    ), after={"symbol": (_c("symbol_name", _LC, ""),)},
        doc="order commands and execution reports of a simulator run (reproducible by replay)",
        critical_policy="drop"),
    # the numeric columns are hft.core.orders.FILL's fields (fee_frac: version 2, 005_exact_fees.sql)
    Topic.from_record("sim.fills", 9, FILL, lead=(_c("run_id", "String"),),
                      after={"symbol": (_c("symbol_name", _LC, ""),)},
                      doc="fills of a simulator run (reproducible by replay)", critical_policy="drop"),
)}

TOPICS_BY_ID: dict[int, Topic] = {t.topic_id: t for t in TOPICS.values()}


def get_topic(name: str) -> Topic:
    """The topic called `name` (``db.table``; a bare table name is accepted when unambiguous)."""
    t = TOPICS.get(name)
    if t is not None:
        return t
    matches = [t for t in TOPICS.values() if t.table == name]
    if len(matches) == 1:
        return matches[0]
    raise StoreError(f"unknown topic {name!r}: expected one of {sorted(TOPICS)}", topic=name)
