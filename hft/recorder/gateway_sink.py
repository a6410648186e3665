"""Record the gateway's decisions and policy transitions through the WAL (DESIGN rule 5).

`GatewayAuditSink` is what `GatewayService(sink=..., batch_sink=...)` is given:

* ``sink(record)`` receives each per-intent `Decision` and each `PolicyTransition`; they are appended to the WAL
  (``audit.gateway_decisions`` / ``audit.policy_transitions``) before the call returns.
* an `AdminAction` (an operator's mass cancel or strategy mode, `hft.live.engine.LiveGateway.control`) is a row of
  ``audit.policy_transitions`` too: its scope and key, the state before and after, why, who and the details.
* ``batch(decisions)`` receives a DECISION_DTYPE array from the batch path and appends it as one frame.

Record ids are stable: ``stable_id(run_id, "decision", seq)`` for decisions (the gateway's decision sequence)
and ``stable_id(run_id, "transition", n)`` for transitions, so replaying the same run and loading it twice
never shows a row twice. A live process passes ``run_id=""`` and a unique writer namespace instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from hft.core.ids import stable_id
from hft.core.orders import MODE_NAMES, NO_KEY, REASON_NAMES, STORM_NAMES
from hft.gateway.dedup import dedup_key
from hft.gateway.policy import PolicyTransition
from hft.recorder.wal_first import WALFirstWriter

DECISIONS = "audit.gateway_decisions"
TRANSITIONS = "audit.policy_transitions"


class AdminAction(NamedTuple):
    """An operator's action beyond the policy's own transitions, audited in ``audit.policy_transitions``."""

    ts: int
    scope: str  # "strategy" (a strategy's mode) | "orders" (a mass cancel) | "limits" (a limit: key is its path)
    # | "token" (a token id onto or off the deny-list)
    key: str  # what it applies to: the strategy's name, the cancel's filter
    from_state: str
    to_state: str
    reason: str  # the control's cause: the operator and why
    actor: str  # the token's subject
    details: str  # JSON document (the orders cancelled)


class GatewayAuditSink:
    """Adapter from the gateway's recorder hook to a `WALFirstWriter`.

    Args:
        writer: the WAL writer.
        run_id: the replay run id ("" for a live process).
        gateway: optional `GatewayService`, used to turn registry names into indices (and back).
    """

    def __init__(self, writer: WALFirstWriter, *, run_id: str = "", gateway: Any = None) -> None:
        self.writer = writer
        self.run_id = run_id
        self.gateway = gateway
        self.refused = 0  # records the WAL refused under disk pressure (data-loss events)
        self.n_transitions = 0  # transitions written: their record ids count on from it (a snapshot keeps it)

    def __call__(self, record: Any) -> None:

        if isinstance(record, PolicyTransition):
            ok = self.writer.write(TRANSITIONS, self._transition_row(record))
        elif isinstance(record, AdminAction):
            ok = self.writer.write(TRANSITIONS, self._admin_row(record))
        else:
            ok = self.writer.write(DECISIONS, self._decision_row(record))
        if not ok:
            self.refused += 1

    def write_decisions(self, decisions: Any, details: Sequence[str] | None = None) -> bool:
        """Append many per-intent `Decision` records as one WAL frame (a replay recording its run), with an
        optional `details` JSON document per record. False when the WAL refused them."""
        rows = [self._decision_row(d) for d in decisions]
        if details is not None:
            for row, det in zip(rows, details, strict=True):
                row["details"] = det
        if not self.writer.write_many(DECISIONS, rows):
            self.refused += len(decisions)
            return False
        return True

    def batch(self, decisions: Any) -> None:
        """Append a DECISION_DTYPE array from `GatewayService.process_batch` as one frame."""
        if not self.writer.write_array(DECISIONS, decisions, const={"run_id": self.run_id}):
            self.refused += len(decisions)

    def write_decision_array(self, decisions: Any, details: Sequence[str] | None = None) -> bool:
        """Append a DECISION_DTYPE array as one frame, each row with its names (from the gateway's registry),
        its reason's name and its `details` JSON document (``"{}"`` when None): the same columns as the
        per-`Decision` path, built column-wise (the live service's hot path). False when the WAL refused."""
        n = len(decisions)
        if n == 0:
            return True
        gw = self.gateway
        an, tn, yn = gw.name_tables() if gw is not None else ([], [], [])
        # names as codes into tables (row_join.StringColumn): nothing per row
        strings: dict[str, Any] = {"account_name": (decisions["account"], an), "strategy_name": (decisions["strategy"], tn),
                                   "symbol_name": (decisions["symbol"], yn)}
        r = decisions["reason"]
        if n == 1 or not r.any() or int(r.min()) == int(r.max()):  # one reason (a step of one order, all accepted):
            reasons, codes = [int(r[0])], np.zeros(n, np.int64)  # no sort (np.unique's fixed cost)
        else:
            u, codes = np.unique(r, return_inverse=True)
            reasons, codes = u.tolist(), codes.reshape(-1)
        strings["reason_name"] = (codes, [REASON_NAMES.get(x) or str(x) for x in reasons])
        if details is not None:
            strings["details"] = details
        const = {"run_id": self.run_id, "policy_state": gw.mode_name if gw is not None else ""}
        if details is None:
            const["details"] = "{}"
        if not self.writer.write_array(DECISIONS, decisions, const=const, strings=strings):
            self.refused += n
            return False
        return True

    def _index(self, kind: str, value: Any) -> tuple[int, str]:
        if isinstance(value, str):
            idx = -1
            if self.gateway is not None:
                try:
                    idx = getattr(self.gateway, f"{kind}_id")(value)
                except Exception:  # an unknown name was itself the reason for the denial
                    idx = -1
            return idx, value
        return int(value), ""

    def _decision_row(self, d: Any) -> dict[str, Any]:

        try:
            key = dedup_key(d.key)
        except (TypeError, ValueError):
            key = NO_KEY  # the decision itself says BAD_KEY
        account, account_name = self._index("account", d.account)
        strategy, strategy_name = self._index("strategy", d.strategy)
        symbol, symbol_name = self._index("symbol", d.symbol)
        return {
            "record_id": stable_id(self.run_id, "decision", int(d.seq)),
            "ts": int(d.ts), "run_id": self.run_id, "seq": int(d.seq), "recv_ts": int(d.recv_ts), "key": key,
            "order_id": int(d.order_id), "target_id": _int(d.target_id), "price": _int(d.price),
            "qty": _int(d.qty), "account": account, "strategy": strategy, "symbol": symbol,
            "reason": int(d.reason), "kind": _int(d.kind, 8), "side": _int(d.side, 8),
            "order_type": _int(d.order_type, 8), "tif": _int(d.tif, 8), "accepted": bool(d.accepted), "duplicate": bool(d.duplicate),
            "trigger": _int(d.trigger), "expire": _int(d.expire), "display": _int(d.display),
            "trail": _int(d.trail), "oco": _int(d.oco), "parent": _int(d.parent),
            "account_name": account_name, "strategy_name": strategy_name, "symbol_name": symbol_name,
            "reason_name": REASON_NAMES.get(int(d.reason), str(d.reason)),
            "policy_state": self.gateway.mode_name if self.gateway is not None else "",
            "details": "{}",
        }

    def _transition_row(self, t: Any) -> dict[str, Any]:
        self.n_transitions += 1
        return {
            "record_id": stable_id(self.run_id, "transition", self.n_transitions),
            "ts": int(t.ts), "run_id": self.run_id, "scope": "global", "key": "",
            "from_state": f"{STORM_NAMES[t.old_level]}/{MODE_NAMES[t.old_mode]}",
            "to_state": f"{STORM_NAMES[t.new_level]}/{MODE_NAMES[t.new_mode]}",
            "reason": t.cause, "actor": t.source, "details": "{}",
        }


    def _admin_row(self, a: AdminAction) -> dict[str, Any]:
        self.n_transitions += 1
        return {"record_id": stable_id(self.run_id, "transition", self.n_transitions), "run_id": self.run_id,
                **a._asdict()}


def _int(v: Any, bits: int = 64) -> int:
    """Decision fields echo the intent; a malformed intent may carry a non-integer or an out-of-range value,
    recorded as 0 (the reason code already says what was wrong)."""
    try:
        i = int(v)
    except (TypeError, ValueError, OverflowError):
        return 0
    lim = 1 << (bits - 1)
    return i if -lim <= i < lim else 0
