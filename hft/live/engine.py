"""`LiveGateway`: the one writer of the live service.

Every change of state happens here, in the event loop's thread, without an ``await`` in the middle: intake
batches, execution reports, marks and controls. Each step runs `GatewayService` (decisions) and then commits:

1. the step's records are appended to the WAL (``audit.gateway_decisions`` for decisions, ``sim.orders`` for
   reports, marks and controls, ``audit.policy_transitions``), one frame per topic, with the writer's fsync
   policy (``batch`` = fdatasync before the answer);
2. the commands the step produced (``GatewayService`` dispatches into an outbox) go to the venue;
3. durable answers (``POST /orders``) are released. Volatile answers (``POST /v3/orders``) are released before
   step 1 when the batch holds no durable intent.

So the venue never sees an order the WAL does not hold, and a durable answer is never given for a decision the
WAL does not hold: after a crash `hft.live.recovery` replays the WAL through a fresh service (same decisions,
same ids) and re-sends what the venue did not receive.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

import msgspec
import numpy as np

from hft.core.clock import ManualClock
from hft.core.errors import ConfigError
from hft.core.orders import (
    EXEC_REPORT,
    INTENT,
    INTENT_CANCEL,
    INTENT_DTYPE,
    INTENT_NEW,
    LIQ_NONE,
    MARKET_UPDATE_DTYPE,
    MODE_ALLOW_ALL,
    MODE_REJECT_ALL,
    OPTION_NAMES,
    RISK_FLAG_BAD_REPORT,
    RISK_FLAG_UNKNOWN_ORDER,
    TIF_DAY,
    VENUE_REPORT,
    VENUE_REPORT_DTYPE,
    options_dict,
)
from hft.gateway import records
from hft.gateway.channel import LocalIntentChannel
from hft.gateway.config import apply_limit_changes, describe_change
from hft.gateway.intents import (
    Decision,
    ExecutionReport,
    OrderCommand,
    TypedIntentEnvelope,
    typed_intent_v1,
    typed_options,
)
from hft.gateway.metrics import Log2Histogram
from hft.gateway.policy import PolicyTransition
from hft.gateway.service import GatewayService
from hft.live import order_ids
from hft.live import snapshot as S
from hft.live.calendar import CLOSE, ROLL, TradingCalendar
from hft.live.ids import PackedIds
from hft.live.ingress import KILLED, SOFT_REJECT, PressureControl
from hft.live.updates import UpdateLog
from hft.live.views import OrderViews, venue_reports
from hft.recorder.gateway_sink import AdminAction, GatewayAuditSink
from hft.recorder.row_join import Packed
from hft.recorder.wal_first import WALFirstWriter

log = logging.getLogger("hft.live")




# A venue's report object as a `VENUE_REPORT_DTYPE` row, every field by name: the `EXEC_REPORT` fields, then what a
# venue says beyond them (`VENUE_REPORT` extends it), an adapter's own object without those: not said.
_EXEC_FIELDS = attrgetter(*EXEC_REPORT.names)
_VENUE_EXTRA = VENUE_REPORT.names[len(EXEC_REPORT.names):]
_NOT_SAID = {"liquidity": LIQ_NONE, "queue": -1}


def _report_row(r: ExecutionReport) -> tuple:
    """A `VENUE_REPORT_DTYPE` row of a venue's report object (above)."""
    return (*_EXEC_FIELDS(r), *(getattr(r, n, _NOT_SAID[n]) for n in _VENUE_EXTRA))


JOURNAL = "sim.orders"  # reports, marks and controls of the live service (source column says which)
FILLS = "sim.fills"
RUN_ID = "live"
_encode_json = msgspec.json.Encoder().encode
_REPORT_CONST = {"run_id": RUN_ID, "source": "report"}
_REFUSED = RISK_FLAG_BAD_REPORT | RISK_FLAG_UNKNOWN_ORDER  # a report the gateway did not apply
_I64 = 1 << 63


def _details(client_order_id: str) -> str:
    """The ``details`` document of an accepted new order's decision (its client order id)."""
    return _encode_json({"client_order_id": client_order_id}).decode() if client_order_id else "{}"


_JSON_ESCAPED = re.compile(r'[\x00-\x1f"\\]')  # what the JSON encoder escapes in a string (nothing else)


_DET_PRE, _DET_SUF = '{"client_order_id":"', '"}'
_DET_PRE_B, _DET_SUF_B = _DET_PRE.encode(), _DET_SUF.encode()


def _details_many(client_order_ids: list[str], packed: PackedIds | None = None) -> Packed:
    """`_details` of each client order id (all of them accepted new orders'), the same strings, packed for the
    WAL: when none is empty or holds a character JSON escapes, each document is the id between fixed quotes,
    and the column is one join of the ids (no string or encoder call per row), or one replace of the NULs of
    their `packed` bytes."""
    if packed is not None and packed.plain:
        return Packed(_DET_PRE_B + packed.sep[:-1].replace(b"\0", _DET_SUF_B + _DET_PRE_B) + _DET_SUF_B,
                      packed.lens + (len(_DET_PRE_B) + len(_DET_SUF_B)))
    joined = "".join(client_order_ids)
    if "" in client_order_ids or _JSON_ESCAPED.search(joined):
        return _pack([[_details(c) for c in client_order_ids]])
    data = (_DET_PRE + (_DET_SUF + _DET_PRE).join(client_order_ids) + _DET_SUF).encode()
    lens = np.fromiter(map(len, client_order_ids), np.int64, len(client_order_ids)) if joined.isascii() else \
        np.array([len(c.encode()) for c in client_order_ids], np.int64)
    return Packed(data, lens + (len(_DET_PRE) + len(_DET_SUF)))


def _pack(parts: list[Packed | list[str]]) -> Packed:
    """One packed string column of consecutive parts (packed ones, or lists of strings)."""
    datas, lens = [], []
    for part in parts:
        if type(part) is Packed:
            datas.append(part.data)
            lens.append(part.lens)
            continue
        joined = "".join(part)
        datas.append(joined.encode())
        lens.append(np.fromiter(map(len, part), np.int64, len(part)) if joined.isascii() else
                    np.array([len(x.encode()) for x in part], np.int64))
    if len(parts) == 1:
        return Packed(datas[0], lens[0])
    return Packed(b"".join(datas), np.concatenate(lens))


def _ignore(_arr: Any) -> None:
    """The gateway's batch sink while `LiveGateway.decide` records the arrays itself."""


@dataclass(slots=True)
class Pending:
    """One queued intent: its envelope, the future its HTTP handler awaits, durability and client id."""

    env: TypedIntentEnvelope
    fut: asyncio.Future
    durable: bool
    client_order_id: str
    t_recv: int  # perf counter at receipt (ack latency)
    row: tuple | None = None  # the intent as an INTENT_DTYPE row (registry indices), None: not expressible
    # (not_before, not_after) on the gateway's clock: outside it when the writer reaches it, the intent is not
    # decided (nor recorded) and its future gets `OUTSIDE_WINDOW` (the signal follower's stale signals)
    window: tuple[int, int] | None = None


OUTSIDE_WINDOW = "outside_window"  # the answer to a `Pending` whose window the clock was outside


@dataclass(slots=True)
class PendingBatch:
    """New-order intents read together from one connection (the binary TCP intake), queued as one channel item
    standing for ``len(rows)`` intents and decided column-wise (`LiveGateway.decide`)."""

    rows: np.ndarray  # INTENT_DTYPE, registry indices (every name registered)
    client_order_ids: list[str]
    durable: bool  # any of them durable: then all are answered after the WAL holds them
    t_recv: int  # perf counter at receipt (ack latency)
    answer: Callable[[np.ndarray | None], None]  # their DECISION_DTYPE rows, or None: the WAL refused them
    packed_ids: PackedIds | None = None  # the client order ids as bytes (the TCP intake's), if known


class LiveGateway:
    """The service's state machine around one `GatewayService`.

    Args:
        gw: the gateway (constructed on a `ManualClock`: each step moves it to the wall clock, so a replay of
            the WAL sets it to the recorded times and decides identically).
        wal: the WAL writer (None only for a dry replay).
        venue: ``send(cmd)`` target; reports come back through `on_report`.
        clock_ns: wall clock (injectable for tests).
    """

    def __init__(self, gw: GatewayService, wal: WALFirstWriter | None, venue: Any, *,
                 clock_ns: Callable[[], int] = time.time_ns) -> None:
        if not isinstance(gw.clock, ManualClock):
            raise TypeError("LiveGateway: expected a GatewayService on a ManualClock")
        self.gw = gw
        # the registries, name → index (read-only views, live): an intent's row is looked up per intent
        self._ids = (gw.indices("account"), gw.indices("strategy"), gw.indices("symbol"))
        self.clock: ManualClock = gw.clock
        self.wal = wal
        self.venue = venue
        self.wall = clock_ns
        self.audit = GatewayAuditSink(wal, run_id="", gateway=gw) if wal is not None else None
        self.outbox: list[OrderCommand | np.ndarray] = []  # commands, and COMMAND_DTYPE arrays of process_batch
        self._decisions: list[Decision] = []
        self._details: list[str] = []
        self._transitions: list[PolicyTransition | AdminAction] = []
        self._journal: list[dict[str, Any]] = []
        self._fills: list[np.ndarray] = []  # views.FILL_DTYPE arrays
        self._inbox: list[ExecutionReport] = []
        self._drain_scheduled = False
        self.n_fills = 0
        self.ids_reserved = 0  # order ids up to this may have been answered (`reserve_ids`, hft.live.order_ids)
        gw.dispatcher = self  # put_nowait below: commands wait in the outbox until the WAL holds them
        gw.sink = self._record
        gw.batch_sink = _ignore  # decide() queues process_batch's array itself, with the rows' details
        cfg = gw.config
        self.channel = LocalIntentChannel(cfg.channel_capacity, on_full=self._on_full)
        gw.channel = self.channel
        self.pressure = PressureControl(cfg.ingress, cfg.channel_capacity, self._ingress_kill, self._ingress_recover)
        # the cause of the manual REJECT_ALL a `halt` control set ("" once resumed or reset): kept by the WAL's
        # controls and the snapshot, so a restart during an ingress kill restores the kill (`restore_pressure`)
        self.halt_cause = ""
        # the token deny-list (`hft.live.auth.Verifier.revoked`): jti -> who revoked it, why, when (ns) and the
        # token's ``exp`` (s; None: unknown, kept until lifted); changed by the journaled ``revoke`` control, an
        # entry dropped by the journaled ``revoke_prune`` control once ``exp + server.jwt_leeway`` has passed (the
        # token is refused as expired then); kept by the snapshot
        self.revoked: dict[str, dict[str, Any]] = {}
        self.revoke_leeway_ns = int(cfg.server.jwt_leeway_s * 1e9)
        self._prune_at: int | None = None  # `revoked_due`'s answer (-1: none due), None: to compute
        self.orders = OrderViews(gw.name_tables(),  # GET /orders/{id}
                                 retention=cfg.server.order_view_retention)
        self.updates = UpdateLog()  # the order-update stream (GET /orders/stream, TCP REPORT frames)
        self.market = UpdateLog(dtype=MARKET_UPDATE_DTYPE)  # the market stream (GET /market/stream): `on_market`
        self.ack_volatile = Log2Histogram()
        self.ack_durable = Log2Histogram()
        self.stage = {s: Log2Histogram() for s in ("decide", "wal", "dispatch")}
        self.wal_failures = 0
        # fencing (an active/standby leader, hft.live.webhooks.ha): asked right before each dispatch whether this
        # process may still send; when not, the step's commands stay unsent (the WAL holds them: the next
        # leader's recovery sends what the venue lacks), no snapshot is taken any more, and `on_fenced(n)` runs
        # (the leader steps down)
        self.fence: Callable[[], bool] | None = None
        self.on_fenced: Callable[[int], None] | None = None
        self.fenced = 0  # commands held back by the fence
        self.monitor: Any = None  # the WAL's DiskPressureMonitor (server wiring)
        self.replaying = False
        self.replayed_commands: list[OrderCommand] = []  # what a WAL replay decided (for reconciliation)
        self.running = False
        # state snapshots (hft.live.snapshot): every `snapshot_every` WAL records and at each new segment
        self.snapshot_every = 0  # 0: only those the server takes (after recovery, at shutdown)
        self.snapshots = 0
        self.last_snapshot: dict[str, Any] | None = None
        self._snap_mark = (0, -1)  # (records written, segment) at the last snapshot
        self.snapshot_fork_orders = cfg.server.snapshot_fork_orders  # from so many order views: a forked child
        self._bg: Any = None  # the background snapshot being written (hft.live.snapshot.Background)
        self.snapshot_rest = cfg.server.snapshot_rest  # after a forked one: rest so many times its duration
        self._snap_rest_until = 0.0  # perf_counter before which no forked snapshot starts
        # a periodic snapshot that failed (a full disk...) never stops the writer: counted, logged, retried after
        # a back-off (1 s, doubling up to 60 s); the WAL holds every step meanwhile, a restart replays more of it
        self.snapshot_failures = 0
        self.snapshot_error: dict[str, Any] | None = None  # the last failure, None once a snapshot succeeded since
        self._snap_retry_at = 0.0  # perf_counter before which a failed snapshot is not tried again
        self._snap_backoff = 0.0
        # trading sessions (``sessions:``, hft.live.calendar): the DAY orders accepted (ids, pruned to the working
        # ones at each close), the time of the last session control (WAL and snapshot), the next boundary due
        self.calendar = TradingCalendar(cfg.sessions) if cfg.sessions else None
        self.day_orders: set[int] = set()
        self.session_mark = 0
        self.session_next: tuple[int, str, str] | None = None

    # ---------------------------------------------------------------- sinks of the gateway
    def put_nowait(self, cmd: OrderCommand) -> None:
        self.outbox.append(cmd)

    def put_batch(self, cmds: np.ndarray) -> None:
        """`process_batch`'s COMMAND_DTYPE array, as it is, in the outbox (`OrderCommand` s are made of it only
        for a venue that takes no arrays, or a WAL replay's reconciliation)."""
        if len(cmds):
            self.outbox.append(cmds)

    def _commands(self, items: list[Any]) -> list[OrderCommand]:
        """The outbox's items as `OrderCommand` s (names from the registry)."""
        gw = self.gw
        out: list[OrderCommand] = []
        for item in items:
            if type(item) is np.ndarray:
                out.extend(records.commands_from_array(item, *gw.name_tables()))
            else:
                out.append(item)
        return out

    def _record(self, rec: Any) -> None:
        if type(rec) is Decision:
            self._decisions.append(rec)
        elif isinstance(rec, PolicyTransition):
            self._transitions.append(rec)

    def _tick(self) -> int:
        now = self.wall()
        if now > self.clock.now_ns():
            self.clock.set(now)
        return self.clock.now_ns()

    # ---------------------------------------------------------------- intake
    def _on_full(self, item: Pending | PendingBatch) -> None:
        """The channel refused `item`: a QUEUE_FULL decision is recorded (for each of its intents) and the kill
        trips."""
        gw = self.gw
        if type(item) is PendingBatch:
            an, tn, yn = gw.name_tables()
            for r in map(INTENT.row._make, item.rows.tolist()):  # each row by its fields' names
                gw.reject_queue_full(TypedIntentEnvelope(typed_intent_v1(
                    r.kind, r.key, an[r.account], tn[r.strategy], yn[r.symbol], r.side, r.price, r.qty, r.order_type,
                    r.tif, r.ts, r.order_id, *(getattr(r, n) for n in OPTION_NAMES)), r.ts))
        else:
            gw.reject_queue_full(item.env)
        self.pressure.trip("queue_pressure: intake channel full", time.monotonic_ns())

    def offer(self, item: Pending) -> bool:
        return self.channel.offer(item)

    def admit_run(self, n: int) -> int:
        """How many of `n` intents arriving together the pressure ladder admits at once (`PressureControl.
        admit_run`); they are then queued as one `offer_batch`, the rest go through `admit` one by one."""
        return self.pressure.admit_run(self.channel.qsize(), n)

    def offer_batch(self, item: PendingBatch) -> bool:
        """Queue intents admitted by `admit_run` (they fit by construction; False only on a full channel)."""
        return self.channel.offer(item, len(item.rows))

    def admit(self, durable: bool) -> tuple[int, str, str] | None:
        """The pressure ladder's verdict for one intent of any intake: None (admitted) or (status, error,
        reason): 429 SOFT_REJECT, 503 KILLED."""
        p = self.pressure
        depth = self.channel.qsize()
        verdict = p.admit(depth, time.monotonic_ns(), soft=not durable)
        if verdict == SOFT_REJECT:
            return 429, "SOFT_REJECT", f"intake utilisation {p.utilisation(depth):.1f}%"
        if verdict == KILLED:
            return 503, "KILLED", p.kill_cause
        return None

    def row_of(self, payload: tuple) -> tuple | None:
        """The INTENT_DTYPE row of a typed intent payload (registry indices), or None when a name is not
        registered or a number does not fit int64 (that intent is then decided by `process`)."""
        acct, strat, sym = self._ids
        a = acct.get(payload[3], -1)
        t = strat.get(payload[4], -1)
        y = sym.get(payload[5], -1)
        price, qty, target = payload[7], payload[8], payload[12]
        if a < 0 or t < 0 or y < 0 or not (-_I64 <= price < _I64 and -_I64 <= qty < _I64 and 0 <= target < _I64):
            return None
        opt = typed_options(payload)
        if not all(-_I64 <= v < _I64 for v in opt):
            return None
        return INTENT.pack(ts=payload[11], key=payload[2], price=price, qty=qty, order_id=target, account=a,
                           strategy=t, symbol=y, kind=payload[1], side=payload[6], order_type=payload[9],
                           tif=payload[10], **options_dict(opt))

    async def run(self) -> None:
        """Consume the intake channel until it is closed and drained (the writer task)."""
        ch = self.channel
        cap = self.gw.config.ingress.max_batch
        self.running = True
        try:
            while True:
                first = await ch.get()
                if first is None:
                    break
                batch = [first]
                n = 1 if type(first) is Pending else len(first.rows)
                while n < cap:  # intents, not items: a TCP read's PendingBatch counts its rows (never split)
                    nxt = ch.get_nowait()
                    if nxt is None:
                        break
                    batch.append(nxt)
                    n += 1 if type(nxt) is Pending else len(nxt.rows)
                self.decide(batch)
                self.pressure.sample(ch.qsize(), time.monotonic_ns())
                await asyncio.sleep(0)  # let the handlers and the venue run between batches
        finally:
            self.running = False

    def decide(self, batch: list[Any]) -> None:
        """Decide a batch (`Pending` and `PendingBatch` items), commit it (WAL, venue), release the answers.

        Intents whose INTENT_DTYPE row is known are decided together in one `GatewayService.process_batch`
        call and recorded column-wise (`GatewayAuditSink.write_decision_array`); one whose names the registry
        does not hold yet is decided alone with `process`, in its place. Both decide identically.
        """
        timer = time.perf_counter_ns
        t0 = timer()
        self._tick()
        batch = self._in_window(batch)
        decs: list[Any] = [None] * len(batch)
        i, n = 0, len(batch)
        while i < n:
            p = batch[i]
            if type(p) is Pending and p.row is None:
                d = decs[i] = self.gw.process(p.env)
                self._details_of(d, p.client_order_id)
                i += 1
                continue
            j = i + 1
            while j < n and not (type(batch[j]) is Pending and batch[j].row is None):
                j += 1
            self._decide_array(batch, i, j, decs)
            i = j
        t1 = timer()
        self.stage["decide"].observe(t1 - t0)
        if not self.reserve_ids():  # no order id is answered before the WAL reserves it
            self._release(batch, [None] * len(batch), None)  # 503 WAL_REFUSED, as a refused durable step
            self.wal_failures += 1
            log.error("WAL refused the order ids' reservation: this step's orders are not answered; kill switch")
            self.pressure.trip("wal_refused", time.monotonic_ns())
            self.commit()
            return
        durable = any(p.durable for p in batch)
        if not durable:  # volatile: answered on the in-memory decision, the WAL written behind
            self._release(batch, decs, self.ack_volatile)
        ok = self.commit()
        if durable:
            if not ok:
                decs = [None] * len(batch)  # the WAL refused: no durable answer (503)
            self._release(batch, decs, None)

    def _in_window(self, batch: list[Any]) -> list[Any]:
        """`batch` less the `Pending` items whose window the gateway's clock is outside (checked here, on the clock
        the dedup window expires by, so no queueing delay can let one through): those are answered
        `OUTSIDE_WINDOW`, undecided and unrecorded."""
        now = self.clock.now_ns()
        keep = batch
        for i, p in enumerate(batch):
            w = p.window if type(p) is Pending else None
            if w is not None and not w[0] <= now <= w[1]:
                if keep is batch:
                    keep = batch[:i]
                if not p.fut.done():
                    p.fut.set_result(OUTSIDE_WINDOW)
            elif keep is not batch:
                keep.append(p)
        return keep

    def _decide_array(self, batch: list[Any], i: int, j: int, decs: list[Any]) -> None:
        """`process_batch` over the rows of ``batch[i:j]``; into `decs`: a `Decision` per `Pending` (names from
        its intent), its DECISION_DTYPE rows per `PendingBatch`. The array and the rows' details are queued for
        the WAL; accepted new orders get their views."""
        parts: list[np.ndarray] = []
        run: list[tuple] = []
        for p in batch[i:j]:
            if type(p) is Pending:
                run.append(p.row)
                continue
            if run:
                parts.append(np.array(run, dtype=INTENT_DTYPE))
                run = []
            parts.append(p.rows)
        if run:
            parts.append(np.array(run, dtype=INTENT_DTYPE))
        out = self.gw.process_batch(parts[0] if len(parts) == 1 else np.concatenate(parts))
        details: list[Packed | list[str]] = []  # parts, in row order
        off = 0
        k = i
        while k < j:
            p = batch[k]
            if type(p) is not Pending:
                m = len(p.rows)
                decs[k] = sl = out[off:off + m]
                details.append(self._views_of_array(sl, p.client_order_ids, p.packed_ids))
                off += m
                k += 1
                continue
            e = k + 1  # a run of Pending items: their rows column-wise too, a `Decision` each for its answer
            while e < j and type(batch[e]) is Pending:
                e += 1
            sl = out[off:off + e - k]
            details.append(self._views_of_array(sl, [q.client_order_id for q in batch[k:e]]))
            # DECISION_DTYPE row: seq ts recv_ts key order_id target_id price qty account strategy symbol reason
            # kind side order_type tif accepted duplicate; names from the intent's payload
            for q, r in zip(batch[k:e], sl.tolist(), strict=True):
                pl = q.env.payload
                decs[k] = records.decision_from_values(r, pl[3], pl[4], pl[5])
                if r[16] and not r[17] and r[12] == INTENT_CANCEL:  # an accepted cancel: its order's view
                    self.orders.cancel_pending(r[5])
                k += 1
            off += len(sl)
        self._decisions.append((out, _pack(details)))

    # ---------------------------------------------------------------- order ids (hft.live.order_ids)
    def reserve_ids(self) -> bool:
        """Before a step's answers: when its ids reach past the reserved mark, append a new mark to the WAL (synced
        per its fsync policy). False when the WAL refused it: then none of the step's ids may be answered."""
        mark = order_ids.due(self.gw.next_order_id, self.ids_reserved)
        return not mark or self._note_ids(order_ids.RESERVE, mark)

    def start_ids(self) -> int:
        """After recovery, before any decision: the counter above every id reserved (recorded, so the next replay
        jumps there too). Returns how many ids were skipped."""
        nxt = self.gw.next_order_id
        first = order_ids.first_after_restart(nxt, self.ids_reserved, self.gw.order_table_size)
        if first == nxt:
            return 0
        if not self._note_ids(order_ids.START, first):
            raise RuntimeError(f"order ids: the WAL refused the record of the restart's first id {first}")
        return first - nxt

    def release_ids(self) -> None:
        """A clean stop (the writer drained, every decision in the WAL): the mark down to the highest id given,
        so the next start skips none."""
        hi = self.gw.next_order_id - 1
        if hi < self.ids_reserved:
            self._note_ids(order_ids.RESERVE, hi)

    def replay_ids(self, source: str, mark: int) -> None:
        """Apply a recorded ``ids:*`` record (recovery) or one just written."""
        nxt, self.ids_reserved = order_ids.replayed(source, int(mark), self.gw.next_order_id, self.ids_reserved)
        self.gw.next_order_id = nxt

    def _note_ids(self, source: str, mark: int) -> bool:
        if self.wal is not None and not self.replaying and not self.wal.write(
                JOURNAL, {"ts": self.clock.now_ns(), "run_id": RUN_ID, "source": source, "order_id": int(mark)}):
            return False
        self.replay_ids(source, mark)
        return True

    def _views_of_array(self, out: np.ndarray, client_order_ids: list[str],
                        packed: PackedIds | None = None) -> Packed | list[str]:
        """Views and client ids of the accepted new orders among DECISION_DTYPE rows (`packed`: their client ids
        as bytes, if known); returns the rows' WAL details (``"{}"`` but for those)."""
        sel = self.orders.add_accepted(out, client_order_ids, packed)  # and their client ids (`find_client`)
        if self.calendar is not None and len(sel):
            day = out[sel]
            self.day_orders.update(day["order_id"][day["tif"] == TIF_DAY].tolist())
        if len(sel) == len(out) and len(sel):
            return _details_many(client_order_ids, packed)
        det: list[str] = ["{}"] * len(out)
        for idx in sel.tolist():
            det[idx] = _details(client_order_ids[idx])
        return det

    def _release(self, batch: list[Any], decs: list[Any], hist: Log2Histogram | None) -> None:
        now = time.perf_counter_ns()
        for p, d in zip(batch, decs, strict=True):
            h = hist if hist is not None else (self.ack_durable if p.durable else self.ack_volatile)
            if type(p) is Pending:
                if not p.fut.done():
                    p.fut.set_result(d)
                h.observe(now - p.t_recv)
                continue
            p.answer(d)
            ns = now - p.t_recv
            c, sums = h.record_into()
            b = ns.bit_length()
            c[b] += len(p.rows)
            sums[b] += ns * len(p.rows)

    def _details_of(self, d: Decision, client_order_id: str) -> None:
        """Note the client order id of an accepted new order (order view + the decision's WAL details)."""
        if d.accepted and not d.duplicate and d.kind == INTENT_NEW:
            if self.calendar is not None and int(d.tif) == TIF_DAY:
                self.day_orders.add(int(d.order_id))
            acct, strat, sym = self._ids
            self.orders.add(d.order_id, client_order_id, acct[d.account], strat[d.strategy], sym[d.symbol], d.side,
                            d.price, d.qty, d.ts)
        elif d.accepted and not d.duplicate and d.kind == INTENT_CANCEL:
            self.orders.cancel_pending(d.target_id)

    # ---------------------------------------------------------------- commit
    def commit(self) -> bool:
        """Append the pending records to the WAL, then dispatch the outbox. False when the WAL refused."""
        ok = True
        t0 = time.perf_counter_ns()
        if self.audit is not None and not self.replaying:
            decs, self._decisions = self._decisions, []
            if decs:
                ok = self._write_decisions(decs) and ok
            frames: list[tuple] = []  # array frames, appended together (one writev)
            if self._journal:
                items, self._journal = self._journal, []
                ok = self._write_journal(items, frames) and ok
            n_journal = len(frames)
            if self._fills:  # like a replay's sim.fills (audit only; recovery reads the reports)
                parts, self._fills = self._fills, []
                frames.append(self._fills_frame(parts[0] if len(parts) == 1 else np.concatenate(parts)))
            if frames:
                ok = all(self.wal.write_arrays(frames)[:n_journal]) and ok
            if self._transitions:
                trs, self._transitions = self._transitions, []
                for tr in trs:
                    self.audit(tr)
        else:
            self._decisions.clear()
            self._journal.clear()
            self._fills.clear()
            self._transitions.clear()
        t1 = time.perf_counter_ns()
        self.stage["wal"].observe(t1 - t0)
        self.updates.publish()  # (the WAL holds their reports, or refused them: the views show them all the same)
        if not ok:
            self.wal_failures += 1
            log.error("WAL refused records: orders of this step are not dispatched; kill switch")
            self.outbox.clear()
            self.pressure.trip("wal_refused", time.monotonic_ns())
            return False
        if self.replaying:
            self.replayed_commands.extend(self._commands(self.outbox))
            self.outbox.clear()
        elif self.outbox:
            out, self.outbox = self.outbox, []
            if self.fence is None or self.fence():
                self._dispatch(out)
                self.stage["dispatch"].observe(time.perf_counter_ns() - t1)
            else:  # the WAL holds the step, so its answers stand
                self._hold_back(out)
        self.orders.flush_index()  # the client ids of this step's views added one by one
        self.orders.prune()  # views past the retention (server.order_view_retention)
        if self.snapshot_every and not self.replaying and self.wal is not None and not self.fenced:
            self._maybe_snapshot()
        return True

    def _hold_back(self, out: list[Any]) -> None:
        """The fence said no: send nothing of `out`, count it, tell `on_fenced`."""
        n = sum(len(x) if type(x) is np.ndarray else 1 for x in out)
        self.fenced += n
        log.error("fenced: %d commands of this step not dispatched (no longer the leader); the WAL holds them", n)
        if self.on_fenced is not None:
            self.on_fenced(n)

    def _dispatch(self, out: list[Any]) -> None:
        """Send the outbox to the venue in order: COMMAND_DTYPE arrays with one `send_array` call each when the
        venue has it (the reports it returns are queued like `on_reports`), everything else command by command."""
        venue = self.venue
        send_array = getattr(venue, "send_array", None)
        gw = self.gw
        for item in out:
            if type(item) is np.ndarray and send_array is not None:
                try:
                    self.on_reports(send_array(item, *gw.name_tables()))
                except Exception as exc:  # the venue's own problem: its reports (or silence) say the rest
                    log.error("venue send failed for %d commands: %s", len(item), exc)
                continue
            for cmd in self._commands([item]):
                try:
                    venue.send(cmd)
                except Exception as exc:
                    log.error("venue send failed for order %s: %s", cmd.order_id, exc)

    def _maybe_snapshot(self) -> None:
        """At the end of a commit (state == the WAL so far): a snapshot when enough records were written since
        the last one, or the WAL started a new segment (so closed segments are never needed again). With at
        least `snapshot_fork_orders` order views it is written by a forked child (`snapshot.start_background`)
        instead of pausing the writer (pickling the views costs ~5 us each); one at a time, and the next one no
        sooner than `snapshot_rest` times the last one's duration after it ended: under a load that rotates a
        segment faster than a child writes the state, a child would otherwise run all the time (its CPU and
        disk writes, the writer's fork and copy-on-write faults), so due snapshots are coalesced into one."""

        if self._bg is not None and self._poll_background(block=False):
            now = time.perf_counter()
            self._snap_rest_until = now + self.snapshot_rest * (now - self._bg.started)
            self._bg = None
        records, seg = self.wal.stats.records_written, self.wal.position()[0]
        if records - self._snap_mark[0] >= self.snapshot_every or seg != self._snap_mark[1]:
            if time.perf_counter() < self._snap_retry_at:
                return
            try:
                if len(self.orders) < self.snapshot_fork_orders:
                    self.snapshot()
                elif self._bg is None and time.perf_counter() >= self._snap_rest_until:
                    self._bg = S.start_background(self)
                    self._snap_mark = (records, self._bg.segment)
            except Exception as exc:  # the order path goes on; the WAL holds the state
                self.snapshot_failed(f"{type(exc).__name__}: {exc}")

    def snapshot_failed(self, error: str) -> None:
        """Count and log a failed snapshot (the previous one stays installed) and put the next try off."""
        self.snapshot_failures += 1
        self._snap_backoff = min(60.0, max(1.0, 2 * self._snap_backoff))
        self._snap_retry_at = time.perf_counter() + self._snap_backoff
        self.snapshot_error = {"error": error, "at_ns": time.time_ns(), "retry_in_s": self._snap_backoff}
        log.error("snapshot failed (%d so far; the previous snapshot stays, trading goes on, retry in %gs): %s",
                  self.snapshot_failures, self._snap_backoff, error)

    def _snapshot_ok(self) -> None:
        if self.snapshot_error is not None:
            log.warning("snapshot written again after %d failures", self.snapshot_failures)
        self.snapshot_error = None
        self._snap_backoff = 0.0
        self._snap_retry_at = 0.0

    def _poll_background(self, block: bool) -> bool:
        """`snapshot.poll` of the forked snapshot, its failure counted like a synchronous one's."""
        failed = S.poll(self, self._bg, block=block, on_failure=self.snapshot_failed)
        if failed is None:
            return False
        if failed is False:
            self._snapshot_ok()
        else:
            self._snap_mark = (0, -1)  # due again: retried once the back-off has passed
        return True

    def snapshot(self) -> dict[str, Any] | None:
        """Take a state snapshot now (between steps of the writer), after any background one has finished. None
        once the fence held commands back: a snapshot says "everything before it was dispatched", and the next
        leader's recovery must start before those commands to send them."""
        if self.fenced:
            log.warning("no snapshot: %d commands in the WAL were never dispatched", self.fenced)
            return None

        if self._bg is not None:
            self._poll_background(block=True)
            self._bg = None
        if not self.snapshots:
            S.remove_stray(self.wal.wal_dir)  # a killed writer's child may have left one
        out = S.take(self)
        self._snap_mark = (self.wal.stats.records_written, out["segment"])
        self._snapshot_ok()
        return out

    def _write_decisions(self, decs: list[Any]) -> bool:
        """Append the step's decisions in their order: `Decision` objects (the per-intent path, internal
        cancels) through the sink's per-record path, process_batch arrays through its column-wise path."""
        audit = self.audit
        ok = True
        run: list[Decision] = []
        for item in decs:
            if type(item) is Decision:
                run.append(item)
                continue
            if run:
                ok = self._write_objects(run) and ok
                run = []
            ok = audit.write_decision_array(item[0], item[1]) and ok
        if run:
            ok = self._write_objects(run) and ok
        return ok

    def _write_journal(self, items: list[Any], frames: list[tuple]) -> bool:
        """Append the step's journal in its order: report arrays as they are (one frame each, left in `frames`
        for the caller to append with the step's other array frames), the rows of marks and controls between
        them (one frame per run, appended after the frames before them)."""
        ok = True
        run: list[dict[str, Any]] = []
        for item in items:
            if type(item) is dict:
                run.append(item)
                continue
            if run:
                if frames:
                    ok = all(self.wal.write_arrays(frames)) and ok
                    frames.clear()
                ok = self.wal.write_many(JOURNAL, run) and ok
                run = []
            frames.append((JOURNAL, item, _REPORT_CONST, None))
        if run:
            if frames:
                ok = all(self.wal.write_arrays(frames)) and ok
                frames.clear()
            ok = self.wal.write_many(JOURNAL, run) and ok
        return ok

    def _fills_frame(self, arr: np.ndarray) -> tuple:
        """The ``sim.fills`` frame of the step's fills (`WALFirstWriter.write_arrays`' batch)."""
        yn = self.gw.name_tables()[2]
        y = arr["symbol"]
        y0 = int(y[0])
        if len(y) == 1 or len(yn) == 1 or int(y.min()) == y0 == int(y.max()):  # one symbol
            return FILLS, arr, {"run_id": RUN_ID, "symbol_name": yn[y0]}, None
        return FILLS, arr, {"run_id": RUN_ID}, {"symbol_name": (y, yn)}

    def _write_objects(self, decs: list[Decision]) -> bool:
        details = []
        for d in decs:
            c = self.orders.client_order_id(d.order_id) if d.kind == INTENT_NEW and d.accepted and not d.duplicate \
                else None
            details.append(_details(c) if c is not None else "{}")
        return self.audit.write_decisions(decs, details)

    # ---------------------------------------------------------------- reports, marks, controls
    def on_report(self, rep: ExecutionReport) -> None:
        """An execution report from the venue (called on the event loop). Reports arriving in one turn of the
        loop are applied together and committed once (`drain_reports`)."""
        self._inbox.append(rep)
        self._schedule_drain()

    def on_reports(self, reports: np.ndarray) -> None:
        """Many reports at once (an EXEC_REPORT_DTYPE array, in order: `LoopbackVenue.send_array`'s answer)."""
        if len(reports):
            self._inbox.append(reports)
            self._schedule_drain()

    def _schedule_drain(self) -> None:
        if not self._drain_scheduled:
            self._drain_scheduled = True
            asyncio.get_running_loop().call_soon(self.drain_reports)

    def drain_reports(self) -> None:
        self._drain_scheduled = False
        inbox, self._inbox = self._inbox, []
        run: list[ExecutionReport] = []
        for item in inbox:  # arrays as they are; single reports grouped into arrays, arrival order kept
            if type(item) is np.ndarray:
                if run:
                    self._apply_report_objects(run)
                    run = []
                self.apply_reports(item)
            else:
                run.append(item)
        if run:
            self._apply_report_objects(run)
        self.commit()

    def apply_report(self, rep: ExecutionReport) -> None:
        """Apply one report and journal it (committed by the caller); may trip the emergency stop."""
        self._apply_report_objects([rep])

    def _apply_report_objects(self, reps: list[ExecutionReport]) -> None:
        try:
            arr = np.array([_report_row(r) for r in reps], dtype=VENUE_REPORT_DTYPE)
        except (TypeError, ValueError, AttributeError, OverflowError):
            for r in reps:  # a malformed one among them: the good ones still count
                try:
                    self.apply_reports(np.array([_report_row(r)], dtype=VENUE_REPORT_DTYPE))
                except (TypeError, ValueError, AttributeError, OverflowError) as exc:
                    log.warning("bad execution report ignored: %s", exc)
            return
        self.apply_reports(arr)

    def apply_reports(self, reports: np.ndarray) -> None:
        """Apply an EXEC_REPORT_DTYPE or VENUE_REPORT_DTYPE array (a venue's reports with what it says beyond them:
        a fill's liquidity, an ACK's queue; an execution report says neither) in order at the writer's now (as one
        report at a time would: a breach trips the emergency stop right after its report) and journal it as one
        block; the order views and fills follow (committed by the caller)."""
        now = self._tick()
        exch_ts = reports["ts"].copy()
        rep = venue_reports(reports)
        rep["ts"] = now  # the journal's time, the one a WAL replay applies it at
        refused = (self.gw.on_execution_report_array(rep) & _REFUSED) != 0
        self._journal.append(rep)  # as received: a WAL replay refuses the same ones again
        if refused.any():  # the views follow what the gateway applied (a fill at price 0 is no fill)
            rep, exch_ts = rep[~refused], exch_ts[~refused]
        self._view_reports(rep, exch_ts)

    def _view_reports(self, rep: np.ndarray, exch_ts: np.ndarray) -> None:
        """The order views follow the applied reports (`OrderViews.apply_reports`); the fills of viewed orders
        become the step's ``sim.fills`` rows, and every report applied to a view an update of the stream."""
        sel, cols, upd = self.orders.apply_reports(rep, self.updates.n + 1)
        if len(upd):
            self.updates.append(upd)
        if not len(sel):
            return
        arr = self.orders.fill_rows(rep, exch_ts, sel, cols, self.n_fills + 1)
        self.n_fills += len(sel)
        self._fills.append(arr)

    def on_mark(self, symbol: str, price: int) -> None:
        """A reference price from the market feed (band check, PnL, market-move trigger)."""
        now = self._tick()
        self.gw.mark(symbol, price)
        self._journal.append({"ts": now, "run_id": RUN_ID, "source": "mark", "symbol_name": symbol,
                              "price": int(price)})
        self.commit()

    def on_market(self, symbol: str, rows: np.ndarray) -> None:
        """The venue's view of the market of `symbol` (MARKET_UPDATE_DTYPE rows, `hft.core.orders.MARKET_UPDATE`;
        their ``seq``, ``ts`` and ``symbol`` are set here): numbered and told to the market stream's clients
        (``GET /market/stream``). Market data is not the gateway's state: not journaled, not in the snapshot; the
        numbers start at 1 in each process."""
        if not len(rows):
            return
        log_ = self.market
        rows = rows.copy()
        rows["seq"] = np.arange(log_.n + 1, log_.n + 1 + len(rows))
        rows["ts"] = self.wall()
        rows["symbol"] = self.gw.symbol_id(symbol)
        log_.append(rows)
        log_.publish()

    def on_timer(self) -> None:
        """The writer's timer (the server's ticker, every 50 ms): what falls due without an intent arriving fires
        as a journaled control, so a WAL replay applies it at the same time: the StormGuard's cooldown step
        (``cooldown``; one level per quiet cooldown) and the session boundaries (``close`` / ``roll``,
        `hft.live.calendar`), those missed while the service was down at its first call after a start."""
        now = self.wall()
        if now >= self.gw.storm.next_check_ns:
            self.control("cooldown", "cooldown_recovery")
        due = self.revoked_due()
        if due is not None and now >= due:
            self.control("revoke_prune", "token_expired", _encode_json({"jtis": self.revoked_expired(now)}).decode())
        if self.calendar is None:
            return
        if self.session_next is None:
            self.start_sessions()
        while self.session_next[0] <= now:
            at, op, name = self.session_next
            self.control(op, name)
            self.session_next = self._next_boundary(at, now, (op, name))

    def _drop_ns(self, entry: dict[str, Any]) -> int | None:
        exp = entry.get("exp")
        return None if exp is None else int(exp * 1e9) + self.revoke_leeway_ns

    def revoked_due(self) -> int | None:
        """When (service-clock ns) the deny-list's first entry may be dropped: its token's ``exp`` +
        ``server.jwt_leeway``; None when no entry has an ``exp``."""
        if self._prune_at is None:
            self._prune_at = min((t for e in self.revoked.values() if (t := self._drop_ns(e)) is not None),
                                 default=-1)
        return None if self._prune_at < 0 else self._prune_at

    def revoked_expired(self, now: int) -> list[str]:
        """The deny-list's token ids whose token is refused as expired at `now` (ns), sorted."""
        return sorted(j for j, e in self.revoked.items() if (t := self._drop_ns(e)) is not None and t <= now)

    def revoked_changed(self) -> None:
        """The deny-list was changed outside the controls (a snapshot restored): `revoked_due` computes again."""
        self._prune_at = None

    def start_sessions(self) -> None:
        """After recovery: the first boundary due, counted from the last session control, else from the WAL's last
        record, else from now (the timer fires those already passed, i.e. missed while the service was down)."""
        if self.calendar is not None:
            now = self.wall()
            self.session_next = self._next_boundary(self.session_mark or self.clock.now_ns() or now, now)

    def sessions_health(self) -> dict[str, Any]:
        """`/health`'s ``sessions``: the last session control's time, the next boundary, DAY orders tracked."""
        nxt = self.session_next
        return {"last_ns": self.session_mark, "day_orders": len(self.day_orders),
                "next": None if nxt is None else {"at_ns": nxt[0], "op": nxt[1], "session": nxt[2]}}

    def _next_boundary(self, after: int, now: int, fired: tuple[str, str] | None = None) -> tuple[int, str, str]:
        """The calendar's next boundary after `after` (and `fired`, the one just fired there), no further back than
        two days before `now` (a catch-up after a long stop fires each boundary of the last day or two once: older
        ones would change nothing)."""
        floor = now - 2 * 86_400_000_000_000
        return self.calendar.next_after(after, fired) if after >= floor else self.calendar.next_after(floor)

    def _session_close(self, name: str, cause: str) -> list[Decision]:
        """Cancel the working DAY orders of session `name`'s symbols; forget the DAY ids no longer working."""
        gw = self.gw
        syms = self.calendar.symbols_of(name, gw.name_tables()[2])
        day = self.day_orders
        out = gw.cancel_all(cause, select=lambda oid, y: oid in day and y in syms)
        working = {o["order_id"] for o in gw.working_orders()}
        day.intersection_update(working)
        return out

    def control(self, op: str, cause: str, arg: str = "") -> list[Decision]:
        """Operator / automatic controls: ``kill`` (REJECT_ALL latched + cancel all), ``reset``,
        ``halt`` (manual REJECT_ALL, cancels all), ``resume`` (manual ALLOW_ALL), ``cooldown`` (the StormGuard
        steps down if its cooldown has passed: `on_timer`), ``close`` / ``roll`` (sessions: `on_timer`),
        ``cancel_all`` (every working order, the mode unchanged: ``server.cancel_on_shutdown``); an admin's
        ``cancel`` (the working orders matching `arg`'s filter, a JSON document of ``account`` / ``strategy`` /
        ``symbol`` / ``order_ids``: a stream's cancel-on-disconnect names the token's working orders) and ``strategy_mode`` (`arg`: ``{"strategy", "mode"}``, `GatewayService.set_strategy_mode`;
        ``disabled`` cancels the strategy's working orders) and ``limits`` (`arg`: ``{"changes", "by"}``, the
        changes of `hft.gateway.config.diff_limits`, applied at once: `hft.live.limits_admin`) and ``revoke`` (`arg`:
        ``{"jti", "revoked", "by", "exp"}``: a token id onto the deny-list, or off it) and ``revoke_prune`` (`arg`:
        ``{"jtis"}``, `on_timer`: the entries whose token has expired, dropped), each audited as an
        `AdminAction` (`arg`'s ``by``: the operator). Journaled for recovery (source ``control:<op>``, then
        ``:<arg>`` when there is one)."""
        now = self._tick()
        out: list[Decision] = []
        if op == "cancel":
            out = self._admin_cancel(now, cause, arg)
        elif op == "strategy_mode":
            out = self._strategy_mode(now, cause, arg)
        elif op == "limits":
            self._limits(now, cause, arg)
        elif op == "revoke":
            self._revoke(now, cause, arg)
        elif op == "revoke_prune":
            self._revoke_prune(now, cause, arg)
        elif op == "cooldown":
            self.gw.tick()
        elif op == "cancel_all":  # server.cancel_on_shutdown (cause "shutdown")
            out = self.gw.cancel_all(cause)
        elif op == CLOSE:  # cause: the session's name (a WAL replayed without sessions configured: no expiry)
            out = self._session_close(cause, f"session_close:{cause}") if self.calendar is not None else []
        elif op == ROLL:
            self.gw.new_day()
            if not self.replaying:
                log.warning("trading day rolled (session %s opens): daily PnL restarts at zero", cause)
        elif op == "kill":
            out = self.gw.kill(cause)
        elif op == "reset":
            self.gw.reset(cause)
        elif op == "halt":
            self.gw.set_mode(MODE_REJECT_ALL, cause)
            out = self.gw.cancel_all(cause)
        elif op == "resume":
            self.gw.set_mode(MODE_ALLOW_ALL, cause)
        else:
            raise ValueError("control: expected kill|reset|halt|resume|cooldown|close|roll|cancel_all|cancel|"
                             f"strategy_mode|limits|revoke|revoke_prune, was {op!r}")
        if op in (CLOSE, ROLL):
            self.session_mark = now
        if op == "halt":
            self.halt_cause = cause
        elif op in ("resume", "reset"):
            self.halt_cause = ""
        self._journal.append({"ts": now, "run_id": RUN_ID, "source": f"control:{op}:{arg}" if arg else f"control:{op}",
                              "symbol_name": cause})
        self.commit()
        return out

    def cancel_on_disconnect(self, subject: str, allows: Callable[[str, str], bool], via: str) -> list[Decision]:
        """A client's connection with cancel-on-disconnect dropped: cancel the working orders whose account and
        strategy `allows` (its token's), by id, through the admin cancel control (journaled, audited with
        `subject` as the operator, cause ``cancel_on_disconnect:<subject>``). Nothing once the writer has stopped
        (the service is stopping: ``server.cancel_on_shutdown`` decides)."""
        if not self.running:
            return []
        ids = sorted(o["order_id"] for o in self.gw.working_orders() if allows(o["account"], o["strategy"]))
        if not ids:
            return []
        out = self.control("cancel", f"cancel_on_disconnect:{subject}",
                           _encode_json({"order_ids": ids, "by": subject}).decode())
        log.warning("%s of %s dropped: cancel on disconnect of %d orders (%d cancels accepted)", via, subject,
                    len(ids), sum(1 for d in out if d.accepted))
        return out

    def _cancel_where(self, cause: str, account: str | None = None, strategy: str | None = None,
                      symbol: str | None = None, order_ids: list[int] | None = None) -> list[Decision]:
        """Internal cancels of the working orders matching every filter given (`GatewayService.cancel_all`)."""
        among = None if order_ids is None else set(order_ids)
        ids = {o["order_id"] for o in self.gw.working_orders()
               if account in (None, o["account"]) and strategy in (None, o["strategy"])
               and symbol in (None, o["symbol"]) and (among is None or o["order_id"] in among)}
        return self.gw.cancel_all(cause, select=lambda oid, _y: oid in ids) if ids else []

    def _admin_cancel(self, now: int, cause: str, arg: str) -> list[Decision]:
        f = msgspec.json.decode(arg)
        flt = {k: f[k] for k in ("account", "strategy", "symbol", "order_ids") if f.get(k) is not None}
        out = self._cancel_where(cause, **flt)
        ids = [int(d.target_id) for d in out if d.accepted]
        self._transitions.append(AdminAction(now, "orders", _encode_json(flt).decode(), f"working:{len(out)}",
                                             f"cancelled:{len(ids)}", cause, f.get("by", ""),
                                             _encode_json({"cancelled": ids}).decode()))
        if not self.replaying:
            log.warning("admin cancel %s by %s: %d orders cancelled", flt, cause, len(ids))
        return out

    def _strategy_mode(self, now: int, cause: str, arg: str) -> list[Decision]:
        f = msgspec.json.decode(arg)
        name, mode = f["strategy"], f["mode"]
        before = self.gw.set_strategy_mode(name, mode)
        out = self._cancel_where(cause, strategy=name) if mode == "disabled" else []
        ids = [int(d.target_id) for d in out if d.accepted]
        self._transitions.append(AdminAction(now, "strategy", name, before, mode, cause, f.get("by", ""),
                                             _encode_json({"cancelled": ids}).decode()))
        if not self.replaying:
            log.warning("strategy %s: mode %s -> %s by %s (%d orders cancelled)", name, before, mode, cause, len(ids))
        return out

    def _limits(self, now: int, cause: str, arg: str) -> None:
        """Apply limit changes together (checked by the caller; a WAL replayed under a config that lacks a level
        they name skips them, logged), one `AdminAction` per limit: its key path, before and after."""
        f = msgspec.json.decode(arg)
        changes = f["changes"]
        gw = self.gw
        try:
            cfg = apply_limit_changes(gw.config, changes)
        except ConfigError as exc:
            log.error("limit changes of %s not applied: %s", cause, exc.message)
            return
        gw.set_limits(cfg)
        by = f.get("by", "")
        for c in changes:
            before, after = _encode_json(c["before"]).decode(), _encode_json(c["after"]).decode()
            self._transitions.append(AdminAction(now, "limits", c["path"], before, after, cause, by,
                                                 _encode_json(c).decode()))
            if not self.replaying:
                log.warning("limit %s by %s", describe_change(c), cause)

    def _revoke(self, now: int, cause: str, arg: str) -> None:
        """A token id onto the deny-list (``revoked`` true; with its token's ``exp`` when known) or off it, audited
        (scope ``token``)."""
        f = msgspec.json.decode(arg)
        jti, on, by = f["jti"], f["revoked"], f.get("by", "")
        before = "revoked" if jti in self.revoked else "active"
        if on:
            self.revoked[jti] = {"by": by, "cause": cause, "ts": now, "exp": f.get("exp")}
        else:
            self.revoked.pop(jti, None)
        self._prune_at = None
        after = "revoked" if on else "active"
        self._transitions.append(AdminAction(now, "token", jti, before, after, cause, by, "{}"))
        if not self.replaying:
            log.warning("token %s: %s -> %s by %s", jti, before, after, cause)

    def _revoke_prune(self, now: int, cause: str, arg: str) -> None:
        """Drop the deny-list's entries `arg` names (``jtis``: their tokens expired), one audit row each."""
        jtis = [j for j in msgspec.json.decode(arg)["jtis"] if j in self.revoked]
        for jti in jtis:
            del self.revoked[jti]
            self._transitions.append(AdminAction(now, "token", jti, "revoked", "expired", cause, "", "{}"))
        self._prune_at = None
        if jtis and not self.replaying:
            log.info("token deny-list: %d expired token ids dropped (%s)", len(jtis), ", ".join(jtis[:5]))

    def restore_pressure(self) -> None:
        """After recovery: the ingress kill the WAL (or snapshot) left in force is the pressure control's again, so
        it answers KILLED with its cause and auto-recovers with its hysteresis, counted from now, as it would have
        without the restart (a recovered REJECT_ALL alone latched until /admin/reset)."""
        if self.halt_cause and self.gw.policy.manual_mode == MODE_REJECT_ALL:
            self.pressure.trip(self.halt_cause, time.monotonic_ns(), notify=False)
            log.warning("ingress kill restored by recovery: %s", self.halt_cause)

    def _ingress_kill(self, cause: str) -> None:
        log.error("ingress kill: %s", cause)
        self.control("halt", cause)

    def _ingress_recover(self, cause: str) -> None:
        log.warning("ingress recovered: %s", cause)
        self.control("resume", cause)

    # ---------------------------------------------------------------- views
    def positions(self) -> list[dict[str, Any]]:
        """Non-flat exposures of every (account, strategy, symbol) the gateway knows."""
        gw = self.gw
        out = []
        syms = gw.names("symbol")
        for a in gw.names("account"):
            for t in gw.names("strategy"):
                for y in syms:
                    e = gw.position(a, t, y)
                    if e.position or e.working_buy or e.working_sell:
                        out.append({"account": a, "strategy": t, "symbol": y, "position": int(e.position),
                                    "working_buy": int(e.working_buy), "working_sell": int(e.working_sell)})
        return out
