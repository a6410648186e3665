"""The one-intent paths of `GatewayService`: `process` (steps 1-6 in the compiled `kernels.process_one`, the
rest in Python), the staged path, and what an intent that cannot be decided becomes (malformed, outside the
gateway, a failed dispatch). `GatewayService` inherits them (`hft.gateway.service`); they read and write its
state, and nothing else calls them.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any

from numba import types

from hft.core.orders import (
    CMD_NEW,
    INTENT_CANCEL,
    N_OPT,
    NO_KEY,
    NO_OPTIONS,
    ORDER_TYPE_NAMES,
    R_BAD_INPUT,
    R_BAD_KEY,
    R_DISPATCH_FAILED,
    R_GATEWAY_DISABLED,
    R_INTERNAL_ERROR,
    R_QUEUE_FULL,
    R_SYMBOL_CAPACITY,
    TIF_NAMES,
)
from hft.gateway import kernels as K
from hft.gateway import records
from hft.gateway.dedup import dedup_key
from hft.gateway.intents import (
    TYPED_FIELDS,
    TYPED_INTENT_V1,
    Decision,
    IntentEnvelope,
    OrderCommand,
    TypedIntentEnvelope,
    typed_options,
)
from hft.gateway.intents import as_int_field as _as_int  # the one rule of an integer field

log = logging.getLogger("hft.gateway")

_NO_KEY = NO_KEY
_process_one = K.process_one
_OTYPE_BITS = {name: code for code, name in ORDER_TYPE_NAMES.items()}
_TIF_BITS = {name: code for code, name in TIF_NAMES.items()}


@functools.cache  # once per process: numba's `compile` of a signature it holds costs ~0.3 ms (events, locks)
def _core_entry() -> Callable[..., tuple[int, int, int]]:
    """The compiled entry point of `kernels.process_one` for (int64 arena, an int64 per other parameter, the
    optional fields' tuple of int64).

    Calling it skips numba's dispatcher (type resolution of 16 arguments, ~150 ns per call). It converts its
    arguments with ``PyNumber_Long``, so it is called only after `_core_py` has checked that every field
    is an ``int`` (an int outside int64 raises OverflowError there, before the kernel runs, and the caller
    takes the slow path, which refuses it BAD_INPUT)."""

    n = len(inspect.signature(K.process_one.py_func).parameters) - 2  # the scalars between the arena and `opt`
    return K.process_one.compile((types.Array(types.int64, 1, "C"),) + (types.int64,) * n
                                 + (types.UniTuple(types.int64, N_OPT),))



class OneIntentPaths:
    """Mixin of `GatewayService`: steps 1-7 for one intent (see the module docstring)."""

    def process(self, envelope: IntentEnvelope | TypedIntentEnvelope) -> Decision:
        """Run steps 1-7 for one intent, synchronously, and return its `Decision` (never raises)."""
        # Hot path (see the latency budget in docs/gateway.md). Callables stored on the instance are loaded
        # into locals before being called: CPython 3.11 cannot specialise ``self.attr(...)`` when ``attr`` is
        # an instance attribute rather than a method (a generic lookup, ~20-30 ns each).
        lat = self._lat  # (counts, sums) of the dispatch latency histogram, None with timing "off"
        if lat is not None:
            timer = self.timer
            t0 = timer()
        clock_now = self._now
        now = clock_now()
        if now >= self._storm_next:
            self._storm_tick(now)
        dec = self._decide(envelope, now)
        if self.sink is not None:
            self._emit(dec)
        if lat is not None:  # Log2Histogram.observe, inlined
            ns = timer() - t0
            b = ns.bit_length()
            lat[0][b] += 1
            lat[1][b] += ns
        return dec

    def _decide(self, envelope: IntentEnvelope | TypedIntentEnvelope, now: int) -> Decision:
        """Steps 1-7 (any envelope, any field types; steps 1-6 in the compiled `kernels.process_one`).
        Returns the decision without recording it (the caller does)."""
        seq0 = None
        try:
            f = self._prepare(envelope, now)
            if type(f) is Decision:
                return f
            seq0 = self._st.ctr[K.K_SEQ]  # the kernel numbers its decision from here
            code, oid, seq = self._core_py(now, f)
        except (TypeError, ValueError, AttributeError, OverflowError) as exc:
            return self._reject_malformed(envelope, exc, now)
        except Exception as exc:  # keep going: the intent is rejected INTERNAL_ERROR
            if seq0 is not None and self._st.ctr[K.K_SEQ] != seq0:  # decided, then failed (MemoryError boxing)
                return self._decided_then_failed(envelope, f, int(seq0), now, exc)
            return self._internal_error(envelope, exc, now)
        code, cmd = self._dispatch_py(now, f, code, oid)
        return self._decision_py(envelope, now, f, code, oid, seq, cmd)

    def _decided_then_failed(self, envelope: Any, f: tuple, seq0: int, now: int, exc: Exception) -> Decision:
        """The core decided the intent but its answer was lost (an allocation failed on the way back): an
        acceptance is rolled back (INTERNAL_ERROR, as a refused dispatch is), a rejection stands."""
        k, kind = f[11], f[1]
        found, reason, oid, _ts, seq = K.dd_lookup(self.arena, k, now)
        if not found or seq < seq0:  # not this call's entry (a duplicate): nothing of ours to undo
            return self._internal_error(envelope, exc, now)
        if reason == 0:
            K.rollback(self.arena, k, kind, oid, R_INTERNAL_ERROR, now)
            reason = R_INTERNAL_ERROR
        self.metrics.internal_errors += 1
        log.error("gateway internal error after the decision, rolled back: %s: %s", type(exc).__name__, exc)
        return records.from_code(int(seq), now, getattr(envelope, "recv_ns", 0), _fields(envelope), int(reason),
                                 int(oid), None, f[15])

    def _prepare(self, envelope: IntentEnvelope | TypedIntentEnvelope, now: int) -> tuple | Decision:
        """An envelope's fields ``(key, kind, account, strategy, symbol, side, price, qty, order_type, tif,
        target, k, a, t, y, opt)`` with its int64 dedup key `k`, registry indices and optional fields (`opt`:
        `hft.core.orders.order_options`), or the
        `Decision` of a rejection decided before the core (bad tag, gateway disabled, unusable key). Raises on envelopes too
        malformed to read."""
        if type(envelope) is TypedIntentEnvelope:
            p = envelope.payload
            if len(p) == TYPED_FIELDS:
                tag, kind, key, acct, strat, sym, side, price, qty, otype, tif, _ts, target = p
                opt = NO_OPTIONS
            else:
                tag, kind, key, acct, strat, sym, side, price, qty, otype, tif, _ts, target = p[:TYPED_FIELDS]
                opt = typed_options(p)
            if tag != TYPED_INTENT_V1:
                return self._reject_outside(envelope, R_BAD_INPUT, now)
        else:
            i = envelope.intent
            kind, key, acct, strat, sym = i.kind, i.key, i.account, i.strategy, i.symbol
            side, price, qty, otype, tif, target = i.side, i.price, i.qty, i.order_type, i.tif, i.order_id
            opt = i.options
        if not self._enabled:
            return self._reject_outside(envelope, R_GATEWAY_DISABLED, now)
        k = key if (type(key) is int and key != _NO_KEY) else self._slow_key(key)
        if k is None:
            return self._reject_outside(envelope, R_BAD_KEY, now)
        y = self._sym.get(sym, -1)
        if y < 0 and self.config.allow_unlisted_symbols and type(sym) is str and sym:
            if len(self._sym_names) >= int(self._st.cfg[K.C_MAX_SYM]):  # registry full: a decision, not an error
                return self._reject_outside(envelope, R_SYMBOL_CAPACITY, now)
            y = self.register_symbol(sym)
        return (key, kind, acct, strat, sym, side, price, qty, otype, tif, target, k, self._acct.get(acct, -1),
                self._strat.get(strat, -1), y, opt)

    def _core_py(self, now: int, f: tuple) -> tuple[int, int, int]:
        """Steps 1-4 and 6 for prepared fields: (code, order id, seq)."""
        _key, kind, _acct, _strat, _sym, side, price, qty, otype, tif, target, k, a, t, y, opt = f
        # a strategy's own mode (`set_strategy_mode`): its refusal is a reason decided before the core's checks
        ctl = self._strat_pre[t] if self._restricted and t >= 0 and kind != INTENT_CANCEL else 0
        if (type(side) is type(price) is type(qty) is type(kind) is type(otype) is type(tif) is type(target)
                is type(now) is int and (opt is NO_OPTIONS or all(type(v) is int for v in opt))):
            try:  # the compiled entry point (no dispatcher type resolution)
                return self._core(self.arena, now, self._mode, k, kind, a, t, y, side, price, qty, otype, tif,
                                  target, ctl, opt)
            except OverflowError:  # an int outside int64: BAD_INPUT by the slow path's one rule (never handed to
                pass  # numba's dispatcher, which would compile a uint64 version or fail to type the options' tuple)
        return self._slow_core(now, k, kind, a, t, y, side, price, qty, otype, tif, target, ctl, opt)

    def _dispatch_py(self, now: int, f: tuple, code: int, oid: int) -> tuple[int, OrderCommand | None]:
        """Steps 5 and 7 for an accepted intent: (code, the dispatched command); a refused dispatch is rolled
        back (DISPATCH_FAILED, no command)."""
        if code != 0:
            return code, None
        kind, k = f[1], f[11]
        try:  # a MemoryError building the command is a refused dispatch: rolled back, never left accepted
            key, kind, acct, strat, sym, side, price, qty, otype, tif, target = f[:11]
            cmd = records.command(kind, oid if kind == CMD_NEW else target, key, acct, strat, sym, side, price, qty,
                                  otype, tif, now, f[15])
            self._put(cmd)
        except Exception as exc:
            return self._dispatch_failed(k, kind, oid, now, exc), None
        return 0, cmd

    @staticmethod
    def _decision_py(envelope: Any, now: int, f: tuple, code: int, oid: int, seq: int,
                     cmd: OrderCommand | None) -> Decision:
        return records.from_code(seq, now, envelope.recv_ns, f[:11], code, oid, cmd, f[15])

    def _process_staged(self, envelope: IntentEnvelope | TypedIntentEnvelope) -> Decision:
        """`process` with per-stage timings (metrics timing: stages)."""
        timer = self.timer
        m = self.metrics
        t0 = timer()
        now = self.clock.now_ns()
        if now >= self._storm_next:
            self._storm_tick(now)
        try:
            f = self._prepare(envelope, now)
            if type(f) is not Decision:
                t1 = timer()
                m.stages["prepare"].observe(t1 - t0)
                code, oid, seq = self._core_py(now, f)
                t2 = timer()
                m.stages["core"].observe(t2 - t1)
        except (TypeError, ValueError, AttributeError, OverflowError) as exc:
            f = self._reject_malformed(envelope, exc, now)
        except Exception as exc:
            f = self._internal_error(envelope, exc, now)
        if type(f) is Decision:  # decided before the core
            if self.sink is not None:
                self._emit(f)
            return f
        code, cmd = self._dispatch_py(now, f, code, oid)
        t3 = timer()
        m.stages["dispatch"].observe(t3 - t2)
        dec = self._decision_py(envelope, now, f, code, oid, seq, cmd)
        if self.sink is not None:
            self._emit(dec)
        t4 = timer()
        m.stages["record"].observe(t4 - t3)
        m.dispatch.observe(t4 - t0)
        return dec

    def submit(self, intent_or_payload: Any) -> Decision:
        """Convenience: wrap an `OrderIntent` or typed tuple at the current clock time and `process` it."""
        if type(intent_or_payload) is tuple:
            return self.process(TypedIntentEnvelope(intent_or_payload, self.clock.now_ns()))
        return self.process(IntentEnvelope(intent_or_payload, self.clock.now_ns()))

    # ------------------------------------------------------------------ slow / error paths
    @staticmethod
    def _slow_key(key: Any) -> int | None:
        try:
            k = dedup_key(key)
        except (TypeError, ValueError):
            return None
        return k if k != _NO_KEY else None

    def _slow_core(self, now: int, k: int, kind: Any, a: int, t: int, y: int, side: Any, price: Any, qty: Any,
                   otype: Any, tif: Any, target: Any, ctl: int = 0, opt: tuple = NO_OPTIONS) -> tuple[int, int, int]:
        vals = [_as_int(v) for v in (kind, side, price, qty, otype, tif, target, *opt)]
        if any(v is None for v in vals):
            # dedup + policy still apply (a duplicate returns the original, REJECT_ALL wins), then BAD_INPUT
            kind_i = vals[0] if vals[0] is not None else 0
            return _process_one(self.arena, now, self._mode, k, kind_i, a, t, y, 0, 0, 0, 0, 0, 0,
                                 R_BAD_INPUT, NO_OPTIONS)
        return _process_one(self.arena, now, self._mode, k, vals[0], a, t, y, *vals[1:7], ctl, tuple(vals[7:]))

    def _reject_outside(self, envelope: Any, reason: int, now: int) -> Decision:
        """A rejection decided outside the core (no usable key, disabled gateway, malformed, internal error,
        queue full): counted by reason; recorded by the caller."""
        seq = int(K.count_reason(self.arena, reason))
        f = _fields(envelope)
        return records.rejected(seq, now, getattr(envelope, "recv_ns", 0), f, reason)

    def _reject_malformed(self, envelope: Any, exc: Exception, now: int) -> Decision:
        log.debug("malformed intent rejected: %s: %s", type(exc).__name__, exc)
        return self._reject_outside(envelope, R_BAD_INPUT, now)

    def _internal_error(self, envelope: Any, exc: Exception, now: int) -> Decision:
        self.metrics.internal_errors += 1
        log.error("gateway internal error, intent rejected: %s: %s", type(exc).__name__, exc, exc_info=exc)
        return self._reject_outside(envelope, R_INTERNAL_ERROR, now)

    def _dispatch_failed(self, k: int, kind: int, oid: int, now: int, exc: Exception) -> int:
        K.rollback(self.arena, k, kind, oid, R_DISPATCH_FAILED, now)  # first: logging may fail without memory
        log.error("dispatch failed, decision rolled back: %s: %s", type(exc).__name__, exc)
        return R_DISPATCH_FAILED

    def reject_queue_full(self, envelope: Any) -> Decision:
        """Record the QUEUE_FULL decision of an envelope the channel could not take (not deduplicated)."""
        dec = self._reject_outside(envelope, R_QUEUE_FULL, self.clock.now_ns())
        if self.sink is not None:
            self._emit(dec)
        return dec


def _fields(envelope: Any) -> tuple:
    """Best-effort (key, kind, account, strategy, symbol, side, price, qty, order_type, tif, target_id)."""
    try:
        if type(envelope) is TypedIntentEnvelope:
            p = envelope.payload
            if isinstance(p, tuple) and TYPED_FIELDS <= len(p) <= TYPED_FIELDS + N_OPT:
                return (p[2], p[1], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[12])
        else:
            i = envelope.intent
            return (i.key, i.kind, i.account, i.strategy, i.symbol, i.side, i.price, i.qty, i.order_type, i.tif,
                    i.order_id)
    except Exception:  # malformed beyond reading: record what we can
        pass
    return (None,) * 11
