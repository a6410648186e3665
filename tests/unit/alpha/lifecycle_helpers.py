"""Shared helpers of the lifecycle tests (pool, promote, Gate D/E, canary): generated days, a toy research root,
promotion files built in memory, gate verdict rows and a capturing audit writer."""

from __future__ import annotations

import shutil
import textwrap
import time
from pathlib import Path
from typing import Any

from hft.data.generate import GeneratorConfig, generate_lobster_day

REPO = Path(__file__).resolve().parents[3]
SMALL = dict(target_messages=20_000, session_start=34_200, session_end=34_200 + 1_800, levels=5)
DAY_NS = 86_400 * 1_000_000_000
T0 = 1_780_000_000_000_000_000  # 2026-05-28 UTC (int ns)


def make_day(folder: Path, seed: int, date: str = "2024-06-21") -> Path:
    """A 30-minute generated LOBSTER day (~19k messages, 5 levels) on `date`; returns the message file."""
    d = generate_lobster_day(folder, GeneratorConfig(seed=seed, date=date, **SMALL))
    assert d.message_path is not None
    return d.message_path


PRINT_DAY_P, PRINT_DAY_BID, PRINT_DAY_ASK = 10_000, 9_990, 10_010
PRINT_DAY_T0 = 1_718_976_600_000_000_000  # 2024-06-21 13:30 UTC (int ns): the day's first event


def make_l2_print_day(path: Path, seconds: int = 600) -> Path:
    """An L2 event file (MSFT, tick 0.01, lot 1) whose every report is derivable by hand: at `PRINT_DAY_T0` a book of
    one level a side (bid 9990 x 10, ask 10010 x 10) that never changes, then one print a second for `seconds`
    seconds, alternating: at T0 + 1 s, 3 s, … a buy at the ask (10010 x 1: the symbol's mark, touching no bid), at
    T0 + 2 s, 4 s, … a sell of 5 lots at 10000, inside the spread (the data has no level there)."""
    import numpy as np

    from hft.core.dtypes import BUY, EV_SNAPSHOT_LEVEL, EV_TRADE, EVENT_DTYPE, FLAG_EOM, SELL
    from hft.core.instrument import Instrument
    from hft.data.events_io import write_events

    s = 1_000_000_000
    ev = np.zeros(2 + seconds, EVENT_DTYPE)
    ev["flags"] = FLAG_EOM
    for i, (side, px) in enumerate(((BUY, PRINT_DAY_BID), (SELL, PRINT_DAY_ASK))):
        ev[i]["exch_ts"], ev[i]["kind"], ev[i]["side"], ev[i]["price"], ev[i]["qty"] = (
            PRINT_DAY_T0, EV_SNAPSHOT_LEVEL, side, px, 10)
    for k in range(seconds):
        r = ev[2 + k]
        r["exch_ts"], r["kind"], r["order_id"], r["seq"] = PRINT_DAY_T0 + (k + 1) * s, EV_TRADE, k + 1, k + 1
        r["side"], r["price"], r["qty"] = (BUY, PRINT_DAY_ASK, 1) if k % 2 == 0 else (SELL, PRINT_DAY_P, 5)
    ev["local_ts"] = ev["exch_ts"]
    inst = Instrument("MSFT", "SYNTH", "0.01", "1", currency="USD", book_level="L2")
    return write_events(path, ev, inst, {"source": "make_l2_print_day"})


LENIENT = """
  gate_d:
    max_position: 4
    order_size: 1
    cooldown: 500ms
    limits: {max_position: 10, max_order_qty: 2}
    min_net_pnl: -1000000000000.0
    min_sharpe: -1000000.0
    min_fill_ratio: 0.0
  gate_e:
    max_turnover: 1000000000.0
  canary:
    kill: {max_drawdown: 1000000000000.0, max_loss: 1000000000000.0, max_reject_rate: 1.0, max_slippage_bps: 1000000.0}
    ladder:
      - {capital_fraction: 0.5, duration: 1s}
      - {capital_fraction: 1.0, duration: 1s}
"""


def make_research_root(folder: Path, extra_validation: str = LENIENT, alphas: tuple[str, ...] = ("obi_l1", "ofi"),
                       toy: str = "toy_obi") -> Path:
    """A research root with copies of shipped alphas plus `toy` (obi_l1 renamed) whose config appends
    `extra_validation` under ``validation:``."""
    root = folder / "research"
    (root / "alphas").mkdir(parents=True)
    for a in alphas:
        shutil.copytree(REPO / "research" / "alphas" / a, root / "alphas" / a,
                        ignore=shutil.ignore_patterns("__pycache__", "test_*.py"))
    src = REPO / "research" / "alphas" / "obi_l1"
    dst = root / "alphas" / toy
    dst.mkdir()
    code = (src / "alpha.py").read_text().replace('alpha_id = "obi_l1"', f'alpha_id = "{toy}"') \
        .replace("class ObiL1", "class ToyObi")
    (dst / "alpha.py").write_text(code)
    (dst / "config.yaml").write_text(textwrap.dedent(f"""\
        alpha: {toy}
        params: {{smooth: 1}}
        features: {{levels: 1, sampling: event, horizons: [1, 10, 100]}}
        validation:
          gate_b: {{primary_horizon: 10}}
        """) + extra_validation)
    return root


def gate_rows(alpha_id: str, code_hash: str, gates: tuple[str, ...] = ("A", "B", "C", "pool"),
              passed: bool = True, ts: int = T0) -> list[dict[str, Any]]:
    """Recorded-verdict dicts as `query_gate_decisions` returns them."""
    return [{"alpha_id": alpha_id, "code_hash": code_hash, "gate": g, "passed": passed, "metric": "m", "value": 1.0,
             "threshold": 0.0, "reasons": [] if passed else ["bad"], "experiment_id": "exp-1", "ts_ns": ts + i,
             "record_id": f"{i:032x}"} for i, g in enumerate(gates)]


class Recorder:
    """Captures what `write_audit` / `write_gate_decisions` are asked to write. With `store` (the shared test
    store) audit rows also go through the real audit path (WAL, then the store) and `chain` reads promotion
    records back from the store (`hft.alpha.records.ledger.read_chain`); without, `chain` answers from the captured rows."""

    def __init__(self, store: Any = None) -> None:
        self.calls: list[tuple[str, list[Any]]] = []
        self.store = store

    def audit(self, topic: str, rows: list[dict[str, Any]]) -> list[str]:
        self.calls.append((topic, list(rows)))
        if self.store is not None:
            from hft.alpha.records.audit import write_audit

            return write_audit(topic, rows, sink=self.sink())
        return [f"{len(self.calls):032x}"]

    def chain(self, pid: str) -> list[dict[str, Any]]:
        if self.store is not None:
            from hft.alpha.records.ledger import read_chain

            return read_chain(pid, sink=self.sink())
        return [r for _, rows in self.calls for r in rows if isinstance(r, dict) and r.get("promotion_id") == pid]

    def sink(self) -> Any:
        """The audit sink on the shared test store."""
        from hft.recorder.alpha_audit import AlphaAuditStore

        return AlphaAuditStore(self.store.test_home, store=self.store)

    def gates(self, rows: list[Any]) -> list[str]:
        self.calls.append(("audit.alpha_gate_decisions", list(rows)))
        return [f"{len(self.calls):032x}"] * len(rows)

    def topics(self) -> list[str]:
        return [t for t, _ in self.calls]


def simple_promotion(alpha_id: str = "toy_obi", code_hash: str = "hash-1", ts: int = T0, ladder: Any = None,
                     kill: Any = None, approvers: tuple[str, ...] = ("jdoe",), params: Any = None) -> Any:
    """A valid fresh promotion (state promoted)."""
    from hft.alpha.api.lifecycle_config import CanaryKill, CanaryPlan, CanaryStep
    from hft.alpha.governance.promotion import GateResult, new_promotion

    steps = ladder or (CanaryStep(0.1, "1s", 1_000_000_000), CanaryStep(1.0, "1s", 1_000_000_000))
    plan = CanaryPlan(kill or CanaryKill(1e12, 1e12, 1.0, 1e6), tuple(steps))
    return new_promotion(alpha_id=alpha_id, version="1.0.0", code_hash=code_hash,
                         params={"smooth": 1} if params is None else params, ts=ts,
                         actor="tester@host", experiment_id="exp-1", run_ids=["run-d"], data_hash="files-x",
                         gates=[GateResult("D", True, "net_pnl", 1.0, 0.0)], gateway_limits={"max_position": 10},
                         canary=plan, approvers=list(approvers), reasons=["test"])


def record_promotion(p: Any, rec: Recorder, root: Path) -> Path:
    """Record a fresh promotion as `hft alpha promote` does (its audit row with the chained record, then the
    file); returns the file."""
    from hft.alpha.governance.promotion import write_promotion
    from hft.alpha.records.ledger import chain_fields

    rec.audit("audit.alpha_promotions", [{"alpha_id": p.alpha_id, "ts": p.promoted_ts, "from_stage": "candidate",
                                          "to_stage": "promoted", "decision": "promoted", "code_hash": p.code_hash,
                                          **chain_fields(p, "")}])
    return write_promotion(p, root=root)


def now() -> int:
    return time.time_ns()
