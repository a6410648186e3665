"""The compiled per-intent driver: intent envelope → numba core → `Decision`, in one call.

`GatewayService.process` spends most of an intent's time in CPython when it unpacks the payload, resolves
the three registry names, checks eight field types, converts fifteen arguments for the kernel call, and
builds the `OrderCommand` and the `Decision` (each ``tuple.__new__`` of a named tuple costs ~150 ns). This
module does the same work in compiled code through CPython's C API (`hft.gateway.pyobj`), around a direct
call of `kernels.process_one`: one call from Python instead of about forty bytecode-level operations.

`process_typed` handles the common case only and says so by returning ``None`` *before touching any state*
when anything is unusual; the caller then runs the Python path, which owns every other behaviour (errors,
reasons, registration of unlisted symbols). The common case is: an exact `TypedIntentEnvelope` whose payload
is an exact 13-tuple carrying the interned ``"typed_intent_v1"`` tag, or an exact `IntentEnvelope` of an exact
`OrderIntent` (read into such a tuple, field by field); kind, side, price, qty, order type,
TIF, target id and the clock's ``now`` exact ``int`` s within int64; an ``int`` key (not `NO_KEY`) or a
``str`` key that `dedup_key` accepts; the registry names hashable (an unknown account / strategy / symbol
is the kernel's rejection, unless unlisted symbols are registered on the fly: then Python); the gateway
enabled. Its decisions are exactly the Python path's (same kernel call, same fields, same objects reused
in the records); tests compare the two field by field.

The returned `Decision` already holds the `OrderCommand` when accepted; the caller dispatches it (step 7),
so a dispatcher that raises is handled in Python as before.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import sys

from numba import njit, types

from hft.core.errors import ConfigError
from hft.core.orders import CMD_NEW, NO_KEY, R_INTERNAL_ERROR
from hft.gateway import kernels as K
from hft.gateway.intents import (
    TYPED_INTENT_V1,
    Decision,
    IntentEnvelope,
    OrderCommand,
    OrderIntent,
    TypedIntentEnvelope,
)
from hft.gateway.pyobj import (
    as_int64,
    call1,
    decref,
    dict_get,
    err_clear,
    err_occurred,
    from_bool,
    from_int64,
    getattr_,
    incref,
    is_null,
    layout_ok,
    none,
    null,
    prefetch_items,
    pyref,
    same,
    tuple_alloc,
    tuple_item,
    tuple_new,
    tuple_size,
    tuple_steal,
    type_of,
)

# positions in the context tuple built by `context()`
X_ENV_TYPE = 0
X_TAG = 1
X_INT = 2
X_STR = 3
X_TUPLE = 4
X_SYMS = 5
X_ACCTS = 6
X_STRATS = 7
X_DECISION = 8
X_COMMAND = 9
X_DEDUP_KEY = 10
X_PAYLOAD = 11
X_RECV = 12
X_FLAGS = 13
X_ENV2_TYPE = 14
X_INTENT_TYPE = 15
X_INTENT = 16
X_FIELDS = 17  # the OrderIntent field names, in payload order
N_X = 18

N_DECISION = 19  # items of a `Decision` (`_typed` sets each of them by index)
N_COMMAND = 12  # items of an `OrderCommand`

FLAG_ENABLED = 1
FLAG_UNLISTED = 2  # unlisted symbols are registered on first use (by the Python path)

_DUP = K.DUP_FLAG
_NO_KEY = NO_KEY
_CMD_NEW = CMD_NEW

_driver = njit(cache=True, _nrt=False)
_inline = njit(cache=True, _nrt=False, inline="always")


def context(syms: dict, accts: dict, strats: dict, dedup_key: object, flags: int) -> tuple:
    """The context tuple `process_typed` reads (kept alive by its owner for as long as it is used)."""
    fields = tuple(sys.intern(f.name) for f in dataclasses.fields(OrderIntent))
    if len(fields) != 12 or len(Decision._fields) != N_DECISION or len(OrderCommand._fields) != N_COMMAND:
        # `_typed` allocates the records with these many items and sets each one by index (no bounds check: an
        # item it does not set would stay NULL, one past the end would write past the object)
        raise RuntimeError("hft.gateway.driver: OrderIntent, Decision and OrderCommand have the fields the compiled "
                           f"driver writes ({12}, {N_DECISION}, {N_COMMAND})")
    ctx = (TypedIntentEnvelope, TYPED_INTENT_V1, int, str, tuple, syms, accts, strats, Decision, OrderCommand,
           dedup_key, "payload", "recv_ns", flags, IntentEnvelope, OrderIntent, "intent", fields)
    assert len(ctx) == N_X
    return ctx


@_inline
def _int_at(p, i, int_t):
    """(value, ok) of item `i` of tuple `p` when it is an exact int within int64."""
    o = tuple_item(p, i)
    if not same(type_of(o), int_t):
        return 0, False
    return as_int64(o)


@_inline
def _index(d, name, int_t):
    """Registry index of `name` in dict `d`: -1 when absent, -2 when the lookup raised (error cleared)."""
    v = dict_get(d, name)
    if is_null(v):
        if err_occurred():
            err_clear()
            return -2
        return -1
    if not same(type_of(v), int_t):
        return -2
    return as_int64(v)[0]


@_inline
def _set(t, i, o):
    """Item `i` of the fresh tuple `t` := `o` (borrowed: a reference is taken)."""
    incref(o)
    tuple_steal(t, i, o)


@_driver
def _typed(buf, ctx, env, p, now, mode):
    """`process_typed` on the payload `p`: (decision, handled). Not handled: nothing was changed.

    Raw reads (no bounds check can see them): `ctx` is `context()`'s tuple of `N_X` items; `p`'s items are read
    only once it is an exact tuple of 13 (checked first); the records are allocated with `N_DECISION` /
    `N_COMMAND` items and every index set is below that (`context` refuses records of another shape). Every
    integer handed to the kernels is an exact ``int`` within int64 (`as_int64`'s ok; otherwise not handled); the
    registry indices are the registries' values (checked against the arena's counts by the kernel).

    Ordered so that memory latency overlaps with work: the payload's objects are prefetched as soon as the
    payload is known; the arena rows the intent addresses (`kernels.touch`) as soon as the key and the
    registry indices are; the exposure slot (`kernels.touch_slot`) after the remaining field conversions;
    the `Decision` is allocated and filled with the intent's fields while that slot row arrives."""
    nil = none()
    int_t = tuple_item(ctx, X_INT)
    if not (same(type_of(p), tuple_item(ctx, X_TUPLE)) and tuple_size(p) == 13
            and same(tuple_item(p, 0), tuple_item(ctx, X_TAG))):
        return nil, False
    prefetch_items(p, 13)  # a producer's payload objects are often cold: overlap their misses
    flags = as_int64(tuple_item(ctx, X_FLAGS))[0]
    if flags & FLAG_ENABLED == 0 or not same(type_of(now), int_t):
        return nil, False
    key = tuple_item(p, 2)
    kt = type_of(key)
    if same(kt, int_t):
        k, ok = as_int64(key)
        if not ok or k == _NO_KEY:
            return nil, False
    elif same(kt, tuple_item(ctx, X_STR)):
        h = call1(tuple_item(ctx, X_DEDUP_KEY), key)
        if is_null(h):
            err_clear()
            return nil, False
        k, ok = as_int64(h) if same(type_of(h), int_t) else (0, False)
        decref(h)
        if not ok:
            return nil, False
    else:
        return nil, False
    y = _index(tuple_item(ctx, X_SYMS), tuple_item(p, 5), int_t)
    a = _index(tuple_item(ctx, X_ACCTS), tuple_item(p, 3), int_t)
    t = _index(tuple_item(ctx, X_STRATS), tuple_item(p, 4), int_t)
    if y == -2 or a == -2 or t == -2 or (y == -1 and flags & FLAG_UNLISTED != 0):
        return nil, False
    kind, ok1 = _int_at(p, 1, int_t)
    target, ok2 = _int_at(p, 12, int_t)
    if not (ok1 and ok2):
        return nil, False
    K.touch(buf, k, kind, a, t, y, target)  # prefetches only
    now_i, ok0 = as_int64(now)
    side, ok3 = _int_at(p, 6, int_t)
    price, ok4 = _int_at(p, 7, int_t)
    qty, ok5 = _int_at(p, 8, int_t)
    otype, ok6 = _int_at(p, 9, int_t)
    tif, ok7 = _int_at(p, 10, int_t)
    if not (ok0 and ok3 and ok4 and ok5 and ok6 and ok7):
        return nil, False
    recv = getattr_(env, tuple_item(ctx, X_RECV))
    if is_null(recv):
        err_clear()
        return nil, False
    K.touch_slot(buf, kind, a, t, y, target)  # reads the slot-map bucket `touch` asked for
    dec = tuple_alloc(tuple_item(ctx, X_DECISION), N_DECISION)
    if is_null(dec):  # MemoryError propagates; nothing was decided
        decref(recv)
        return dec, True
    _set(dec, 1, now)
    tuple_steal(dec, 2, recv)
    _set(dec, 3, key)
    _set(dec, 4, tuple_item(p, 1))  # kind
    for i in range(3, 11):  # account, strategy, symbol, side, price, qty, order type, tif
        _set(dec, i + 2, tuple_item(p, i))
    _set(dec, 13, tuple_item(p, 12))  # target order id

    # ---- steps 1-6 (state changes from here: the intent is handled, whatever follows)
    code, oid, seq = K.process_touched(buf, now_i, mode, k, kind, a, t, y, side, price, qty, otype, tif,
                                       target, 0)

    reason = code & 0xFFFF
    seq_o = from_int64(seq)
    oid_o = from_int64(oid)
    tuple_steal(dec, 0, seq_o)
    tuple_steal(dec, 14, from_bool(reason == 0))
    tuple_steal(dec, 15, from_int64(reason))
    tuple_steal(dec, 16, oid_o)
    tuple_steal(dec, 17, from_bool(code >= _DUP))
    cmd = nil
    if code == 0 and not is_null(oid_o):
        cmd = tuple_alloc(tuple_item(ctx, X_COMMAND), N_COMMAND)
        if not is_null(cmd):
            _set(cmd, 0, tuple_item(p, 1))
            _set(cmd, 1, oid_o if kind == _CMD_NEW else tuple_item(p, 12))
            for i in range(2, 11):  # key, account, strategy, symbol, side, price, qty, order type, tif
                _set(cmd, i, tuple_item(p, i))
            _set(cmd, 11, now)
    else:
        incref(cmd)
    tuple_steal(dec, 18, cmd)
    if is_null(seq_o) or is_null(oid_o) or is_null(tuple_item(dec, 15)) or is_null(cmd):
        # a MemoryError after the decision (set by the failed allocation) propagates; an accepted intent is
        # rolled back first (as a refused dispatch is), so no order stays accepted in the arena undispatched
        if code == 0:
            K.rollback(buf, k, kind, oid, R_INTERNAL_ERROR, now_i)
        decref(dec)
        return null(), True
    return dec, True
@_driver
def _payload_of(ctx, env):
    """The typed payload of an envelope (new reference), or NULL (nothing pending) when not the common case:
    a `TypedIntentEnvelope`'s own payload, or for an `IntentEnvelope` of an `OrderIntent` a payload tuple
    of the intent's field objects (the same objects the Python path reads)."""
    et = type_of(env)
    if same(et, tuple_item(ctx, X_ENV_TYPE)):
        p = getattr_(env, tuple_item(ctx, X_PAYLOAD))
        if is_null(p):
            err_clear()
        return p
    if not same(et, tuple_item(ctx, X_ENV2_TYPE)):
        return null()
    i = getattr_(env, tuple_item(ctx, X_INTENT))
    if is_null(i):
        err_clear()
        return i
    p = null()
    if same(type_of(i), tuple_item(ctx, X_INTENT_TYPE)):
        p = tuple_new(13)
        if is_null(p):
            err_clear()
        else:
            tag = tuple_item(ctx, X_TAG)
            _set(p, 0, tag)
            names = tuple_item(ctx, X_FIELDS)
            for j in range(12):
                f = getattr_(i, tuple_item(names, j))
                if is_null(f):
                    err_clear()
                    decref(p)
                    p = null()
                    break
                tuple_steal(p, j + 1, f)
    decref(i)
    return p


@_driver
def process_typed(buf, ctx, env, now, mode):
    """Steps 1-6 of one intent envelope and its `Decision` (new reference), or ``None`` when the envelope
    is not the common case (see the module docstring) and nothing was done."""
    p = _payload_of(ctx, env)
    if is_null(p):
        return _new_none()
    res, handled = _typed(buf, ctx, env, p, now, mode)
    decref(p)
    return res if handled else _new_none()


@_inline
def _new_none():
    """A new reference to ``None`` (the answer "not handled")."""
    res = none()
    incref(res)
    return res


def _unavailable(buf: object, ctx: object, env: object, now: object, mode: object) -> None:
    return None  # every envelope goes to the Python path


DRIVER_ENV = "HFT_GATEWAY_DRIVER"  # compiled (default) | python: the safety switch to the Python path
DRIVER_MODES = ("compiled", "python")


def driver_mode(env: dict[str, str] | None = None) -> str:
    """``compiled`` or ``python``, from ``HFT_GATEWAY_DRIVER`` (unset: compiled). Raises `ConfigError` naming
    the variable on any other value."""


    v = (os.environ if env is None else env).get(DRIVER_ENV, "compiled").strip().lower() or "compiled"
    if v not in DRIVER_MODES:
        raise ConfigError(f"{DRIVER_ENV}: expected one of {list(DRIVER_MODES)}, was {v!r}", key=DRIVER_ENV)
    return v


def compiled() -> object:
    """The compiled entry point of `process_typed` (int64 arena, context, envelope, now, mode), or a function
    leaving every envelope to the Python path: when ``HFT_GATEWAY_DRIVER=python`` (the safety switch: the
    same decisions without the C-API code), or when this interpreter's object layout is not the one the
    driver reads (see `hft.gateway.pyobj.layout_ok`)."""
    if driver_mode() == "python":
        return _unavailable
    if not (layout_ok() and Decision.__basicsize__ == OrderCommand.__basicsize__ == tuple.__basicsize__):
        return _unavailable
    return _compiled_entry()


@functools.cache  # once per process: numba's `compile` of a signature it holds costs ~0.3 ms (events, locks)
def _compiled_entry() -> object:
    return process_typed.compile((types.Array(types.int64, 1, "C"), pyref, pyref, pyref, types.int64))
