"""A tabular Q-learning market maker, trained in the simulator, saved in an open format, evaluated on held-out
quotes — the policy side of ``hft alpha rl-promote``.

Policy
------
Every ``decision_ns`` of local time (the strategy's timer) the policy observes a discrete state and picks one
of five quoting actions; quotes go through the real gateway like any strategy's (`hft.sim.strategy`).

* State = (inventory bucket, spread bucket, imbalance bucket), 5 × 3 × 3 = 45 states:
  inventory ``position / max_position`` cut at −0.6, −0.2, 0.2, 0.6; spread 1, 2, ≥3 ticks; L1 imbalance
  ``(q_bid − q_ask) / (q_bid + q_ask)`` cut at −1/3, 1/3.
* Actions (bid offset, ask offset) in ticks behind the touch, ``None`` = no quote on that side:
  0 (0, 0) join both; 1 (1, 1) one tick back; 2 (1, 0) lean to sell; 3 (0, 1) lean to buy; 4 (None, None) flat
  (cancel quotes). A side at ``max_position`` is never quoted.
* Reward between two decisions = change in marked-to-mid PnL (cash from our fills incl. fees, plus position ×
  mid, in ticks × lots) − ``inventory_penalty`` × position².
* Learning: Q(s, a) += α (r + γ max_a' Q(s', a') − Q(s, a)); ε-greedy exploration whose random draws come from
  ``numpy.random.default_rng(seed + episode)``; ε decays linearly from ``epsilon`` to ``epsilon_min`` over the
  episodes. Episodes replay the training data from the start. Same data + hyper-parameters + seed → the same
  Q table, bit for bit (the simulator is deterministic).

Promotion (``hft alpha rl-promote``, `rl_promote`)
-------------------------------------------------
The policy is promoted like any alpha — same YAML, same audit rows (`hft.alpha.governance.promote.conclude_promotion`):

1. train on the training data (config ``research/rl/config.yaml``: hyper-parameters, gates, canary plan) and
   save the artifact (``--out``, default ``$HFT_HOME/rl/rl_mm_q/<Q digest>``); the training is recorded as a
   trial in the experiment registry (kind ``rl-train``, family ``rl:rl_mm_q``);
2. Gate R (integrity, audited like gates A–C): a finite Q table that visited at least ``min_states_visited``
   states and, with ``determinism``, a retraining that reproduces the table bit for bit;
3. Gate D: a greedy replay of the policy on the held-out data through the real gateway, under the
   ``gate_d.limits`` the strategy would run with, scored with the same metrics and thresholds as an alpha's
   Gate D (`hft.alpha.gates.gate_d.replay_metrics` / `replay_verdict`);
4. Gate E: risk and capacity, requiring a passing Gate R for this code hash (the code hash covers
   ``research/rl``, ``hft/alpha`` and the artifact itself) on data other than Gate D's.

Artifact (open format, no pickle): ``<dir>/policy.npz`` holds ``q`` (45 × 5 float64) and the bucket edges;
``<dir>/policy.yaml`` holds the metadata (policy id, version, hyper-parameters, seed, training data hash,
episodes, SHA-256 of the npz, creation time). `load_policy` checks the hash and refuses a mismatch.
"""

from __future__ import annotations

import hashlib
import time
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hft.alpha.api.registry import POLICY_DIRS
from hft.core.dtypes import BUY, SELL
from hft.core.errors import ConfigError, GovernanceError
from hft.core.orders import REPORT_FILL, REPORT_PARTIAL_FILL
from hft.sim.strategy import Context, OrderUpdate, Strategy

__all__ = ["ACTIONS", "Hyper", "QPolicy", "QStrategy", "RLConfig", "canary_observations", "evaluate", "load_policy",
           "load_rl_config", "rl_promote", "save_policy", "train"]

# the id the alpha registry gives this folder's policy (`registry.POLICY_DIRS`: where status and canary find its code)
POLICY_ID = next(pid for pid, folder in POLICY_DIRS.items() if folder == Path(__file__).resolve().parent.name)
POLICY_VERSION = "1.0.0"
INV_EDGES = (-0.6, -0.2, 0.2, 0.6)
SPREAD_EDGES = (1, 2)  # <=1, ==2, >=3 ticks
IMB_EDGES = (-1 / 3, 1 / 3)
ACTIONS: tuple[tuple[int | None, int | None], ...] = ((0, 0), (1, 1), (1, 0), (0, 1), (None, None))
N_STATES = (len(INV_EDGES) + 1) * (len(SPREAD_EDGES) + 1) * (len(IMB_EDGES) + 1)


@dataclass(frozen=True)
class Hyper:
    """Training hyper-parameters (all recorded in the artifact)."""
    episodes: int = 3
    alpha: float = 0.1
    gamma: float = 0.9
    epsilon: float = 0.3
    epsilon_min: float = 0.02
    inventory_penalty: float = 0.05
    decision_ns: int = 1_000_000_000
    size: int = 1
    max_position: int = 10
    seed: int = 7

    def check(self) -> None:
        bad = [(k, v) for k, v in (("episodes", self.episodes), ("size", self.size),
                                   ("max_position", self.max_position), ("decision_ns", self.decision_ns))
               if not isinstance(v, int) or isinstance(v, bool) or v < 1]
        bad += [(k, v) for k, v in (("alpha", self.alpha), ("gamma", self.gamma), ("epsilon", self.epsilon),
                                    ("epsilon_min", self.epsilon_min)) if not 0.0 <= float(v) <= 1.0]
        if self.inventory_penalty < 0:
            bad.append(("inventory_penalty", self.inventory_penalty))
        if bad:
            k, v = bad[0]
            raise ConfigError(f"rl hyper-parameter '{k}': expected a valid value, was {v!r}", key=k)


@dataclass
class QPolicy:
    """A Q table over (state, action) plus its metadata."""
    q: np.ndarray
    hyper: Hyper
    meta: dict[str, Any] = field(default_factory=dict)

    def greedy(self, state: int) -> int:
        row = self.q[state].tolist()  # a Python list: per decision, numpy's call costs more than the 5 values
        return row.index(max(row))  # ties: the lowest action index (as numpy's argmax)


def state_of(position: int, max_position: int, bid: int | None, ask: int | None, bid_qty: int,
             ask_qty: int) -> int:
    """Discrete state index (see the module docstring)."""
    inv = bisect_right(INV_EDGES, position / max_position)  # numpy's searchsorted(side="right") on a scalar
    spread = 1 if bid is None or ask is None else ask - bid
    sp = 0 if spread <= SPREAD_EDGES[0] else (1 if spread == SPREAD_EDGES[1] else 2)
    tot = bid_qty + ask_qty
    imb = (bid_qty - ask_qty) / tot if tot > 0 else 0.0
    im = bisect_right(IMB_EDGES, imb)
    return (inv * (len(SPREAD_EDGES) + 1) + sp) * (len(IMB_EDGES) + 1) + im


class QStrategy(Strategy):
    """The simulator strategy of a Q policy; learns when ``learn`` is true (training), else acts greedily."""
    name = POLICY_ID
    wakes = ("order", "timer")  # decisions on the timer; fills update the cash account

    def __init__(self, policy: QPolicy, *, learn: bool = False, epsilon: float = 0.0, rng_seed: int = 0,
                 max_position: int | None = None) -> None:
        self.policy, self.learn, self.epsilon = policy, learn, epsilon
        # the most it may hold (a canary step's capital fraction); its states read inventory against the trained one
        self.max_position = policy.hyper.max_position if max_position is None else max_position
        self.timer_ns = policy.hyper.decision_ns
        self.rng = np.random.default_rng(rng_seed)
        self.cash = 0.0  # ticks x lots, fees included (fees are money units = ticks x lots at multiplier 1)
        self.side_of: dict[int, int] = {}
        self.prev: tuple[int, int, float] | None = None  # (state, action, marked pnl)
        self.decisions = 0

    def params(self) -> dict[str, Any]:
        return {"policy": self.policy.meta.get("policy_id", POLICY_ID), "learn": self.learn, **asdict(self.policy.hyper),
                "max_position": self.max_position}

    def on_order_update(self, ctx: Context, update: OrderUpdate) -> None:
        if update.kind in (REPORT_PARTIAL_FILL, REPORT_FILL):
            side = self.side_of.get(update.order_id, 0)
            self.cash -= side * update.price * update.qty
            self.cash -= update.fee

    def _marked(self, ctx: Context) -> float | None:
        mid2 = ctx.mid2
        return None if mid2 is None else self.cash + ctx.position * mid2 / 2.0

    def on_timer(self, ctx: Context) -> None:
        h = self.policy.hyper
        bid, ask = ctx.best_bid, ctx.best_ask
        marked = self._marked(ctx)
        if bid is None or ask is None or marked is None:
            return
        s = state_of(ctx.position, h.max_position, bid, ask, ctx.bid_qty, ctx.ask_qty)
        if self.learn and self.prev is not None:
            ps, pa, pm = self.prev
            r = (marked - pm) - h.inventory_penalty * ctx.position * ctx.position
            q = self.policy.q
            q[ps, pa] += h.alpha * (r + h.gamma * max(q[s].tolist()) - q[ps, pa])
        if self.learn and self.rng.random() < self.epsilon:
            a = int(self.rng.integers(len(ACTIONS)))
        else:
            a = self.policy.greedy(s)
        self.prev = (s, a, marked)
        self.decisions += 1
        self._quote(ctx, ACTIONS[a], bid, ask)

    def _quote(self, ctx: Context, action: tuple[int | None, int | None], bid: int, ask: int) -> None:
        h = self.policy.hyper
        want = {BUY: None if action[0] is None else min(bid - action[0], ask - 1),
                SELL: None if action[1] is None else max(ask + action[1], bid + 1)}
        have: dict[int, Any] = {BUY: None, SELL: None}
        for o in ctx.orders.values():
            have[o.side] = o
        for side in (BUY, SELL):
            o, price = have[side], want[side]
            room = self.max_position - side * ctx.position
            if o is not None:
                if o.status == "working" and (price is None or o.price != price or room <= 0):
                    ctx.cancel(o.order_id)
            elif price is not None and room > 0:
                d = ctx.submit(side, price, min(h.size, room))
                if getattr(d, "accepted", False):
                    self.side_of[d.order_id] = side


def _replay(data: Sequence[Path], strategy: QStrategy, config: Any, source: Any = None
            ) -> tuple[Any, dict[str, Any], Any]:
    """One replay of `data` with `strategy` through the real gateway: (output, summary, market data). `source`
    opens `data` (`hft.core.market_data.MarketDataSource`; default: the files on disk)."""
    from hft.data.sources import FILES
    from hft.sim.replay import build_engine, summarise

    md = (source or FILES).open_market_data([Path(p) for p in data])
    engine, multiplier = build_engine(md, strategy, strategy.name, config)
    out = engine.run(None, multiplier=multiplier)
    return out, summarise(out, md, strategy.name, strategy.params(), config, list(data)), md


def train(data: Sequence[Path], hyper: Hyper | None = None, config: Any = None) -> QPolicy:
    """Train a Q policy on `data` (replayed `hyper.episodes` times through the real gateway)."""
    from hft.alpha.research.features import data_hash
    from hft.sim.replay import load_replay_config

    hyper = hyper or Hyper()
    hyper.check()
    config = config or load_replay_config(None)
    policy = QPolicy(np.zeros((N_STATES, len(ACTIONS))), hyper)
    t0 = time.perf_counter()
    run_hashes = []
    for ep in range(hyper.episodes):
        frac = ep / max(hyper.episodes - 1, 1)
        eps = hyper.epsilon + (hyper.epsilon_min - hyper.epsilon) * frac
        strat = QStrategy(policy, learn=True, epsilon=eps, rng_seed=hyper.seed + ep)
        _, summary, _ = _replay(data, strat, config)
        run_hashes.append(summary["run_hash"])
    policy.meta = {"policy_id": POLICY_ID, "version": POLICY_VERSION, "hyper": asdict(hyper),
                   "train_data_hash": data_hash([Path(p) for p in data]), "train_run_hashes": run_hashes,
                   "train_wall_s": round(time.perf_counter() - t0, 3),
                   "states": N_STATES, "actions": [list(a) for a in ACTIONS]}
    return policy


def evaluate(policy: QPolicy, data: Sequence[Path], config: Any = None, out_dir: Path | None = None
             ) -> dict[str, Any]:
    """Greedy replay of the policy on (held-out) `data`; the simulator summary (PnL, Sharpe, fills, run hash)."""
    from hft.sim.replay import load_replay_config
    from hft.sim.run_folder import write_run_folder

    config = config or load_replay_config(None)
    strat = QStrategy(policy, learn=False)
    out, summary, md = _replay(data, strat, config)
    if out_dir is not None:
        write_run_folder(out_dir, out, summary, md, force=True)
        summary["run_folder"] = str(out_dir)
    summary["decisions"] = strat.decisions
    return summary


# --- artifact -------------------------------------------------------------------------------------------------

def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_policy(policy: QPolicy, directory: Path) -> dict[str, Any]:
    """Write ``policy.npz`` + ``policy.yaml`` atomically into `directory`; returns the metadata written."""
    import yaml

    from hft.core.fileio import atomic_path

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    npz = directory / "policy.npz"
    with atomic_path(npz) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, q=policy.q, inv_edges=np.asarray(INV_EDGES), spread_edges=np.asarray(SPREAD_EDGES),
                 imb_edges=np.asarray(IMB_EDGES))
    meta = {**policy.meta, "npz_sha256": _sha256(npz), "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                                     time.gmtime())}
    with atomic_path(directory / "policy.yaml") as tmp:
        Path(tmp).write_text(yaml.safe_dump(meta, sort_keys=True))
    policy.meta = meta
    return meta


def load_policy(directory: Path) -> QPolicy:
    """Load a saved policy; GovernanceError when the npz does not match its recorded hash or shape."""
    from hft.config.strict import load_yaml

    directory = Path(directory)
    meta = load_yaml(directory / "policy.yaml")
    npz = directory / "policy.npz"
    if not npz.is_file():
        raise GovernanceError(f"{npz}: expected the policy table, none exists", file=str(npz))
    if meta.get("npz_sha256") != _sha256(npz):
        raise GovernanceError(f"{npz}: expected SHA-256 {meta.get('npz_sha256')}, the file differs", file=str(npz))
    with np.load(npz, allow_pickle=False) as z:
        q = np.array(z["q"], dtype=np.float64)
    if q.shape != (N_STATES, len(ACTIONS)) or not np.isfinite(q).all():
        raise GovernanceError(f"{npz}: expected a finite {N_STATES}x{len(ACTIONS)} Q table, was {q.shape}",
                              file=str(npz))
    try:
        hyper = Hyper(**meta["hyper"])
    except (KeyError, TypeError) as exc:
        raise GovernanceError(f"{directory / 'policy.yaml'}: key 'hyper': expected the training "
                              f"hyper-parameters ({exc})", file=str(directory / "policy.yaml")) from None
    return QPolicy(q, hyper, meta)


def q_digest(policy: QPolicy) -> str:
    """Hash of the Q table bytes (determinism checks)."""
    return hashlib.blake2b(np.ascontiguousarray(policy.q).tobytes(), digest_size=16).hexdigest()


# --- promotion --------------------------------------------------------------------------------------------------

RL_DIR = Path(__file__).resolve().parent
DEFAULT_CONFIG = RL_DIR / "config.yaml"


@dataclass(frozen=True)
class RLConfig:
    """``research/rl/config.yaml``: hyper-parameters, Gate R thresholds and the lifecycle sections."""
    hyper: Hyper
    determinism: bool
    min_states_visited: int
    validation: Any  # .gate_d / .gate_e / .canary, as an alpha's ValidationConfig
    file: str


@dataclass(frozen=True)
class _Lifecycle:
    gate_d: Any
    gate_e: Any
    canary: Any


def load_rl_config(path: Path | None = None) -> RLConfig:
    """Strictly parse the RL config (ConfigError naming file and key)."""
    from hft.alpha.api import lifecycle_config as lc
    from hft.config.strict import Section, load_yaml

    path = Path(path) if path is not None else DEFAULT_CONFIG
    root = Section(load_yaml(path), path)
    policy = root.str("policy")
    if policy != POLICY_ID:
        root.fail("policy", repr(POLICY_ID), policy)
    val = root.section("validation", {})
    gd = lc.parse_gate_d(val.section("gate_d", {}))
    ge = lc.parse_gate_e(val.section("gate_e", {}))
    canary = lc.parse_canary(val.section("canary", {}))
    val.done()
    h = root.section("hyper", {})
    d = Hyper()
    hyper = Hyper(episodes=h.int("episodes", d.episodes, min_value=1), alpha=h.float("alpha", d.alpha),
                  gamma=h.float("gamma", d.gamma), epsilon=h.float("epsilon", d.epsilon),
                  epsilon_min=h.float("epsilon_min", d.epsilon_min),
                  inventory_penalty=h.float("inventory_penalty", d.inventory_penalty, min_value=0.0),
                  decision_ns=h.duration_ns("decision", "1s"), size=gd.order_size, max_position=gd.max_position,
                  seed=h.int("seed", d.seed, min_value=0))
    h.done()
    try:
        hyper.check()
    except ConfigError as exc:
        raise ConfigError(f"{path}: key 'hyper.{exc.fields.get('key')}': {exc.message}", file=str(path),
                          key=f"hyper.{exc.fields.get('key')}") from None
    r = root.section("gate_r", {})
    determinism = r.bool("determinism", True)
    min_states = r.int("min_states_visited", 5, min_value=0)
    r.done()
    root.done()
    return RLConfig(hyper, determinism, min_states, _Lifecycle(gd, ge, canary), str(path))


def _observe(data: Sequence[Path], strategy: QStrategy, config: Any, code_hash: str, kind: str,
             source: Any = None, out_dir: Path | None = None) -> tuple[Any, dict[str, Any], Any, Path]:
    """A greedy replay of the policy as governance evidence: its summary names the policy and its code hash, its
    run folder is ``$HFT_HOME/runs/<kind>/<policy id>/<run hash>`` (`out_dir` overrides), as an alpha's Gate D
    and canary runs are. (output, summary, market data, run folder)."""
    from hft.core.paths import hft_home
    from hft.sim.run_folder import write_run_folder

    out, summary, md = _replay(data, strategy, config, source)
    summary["alpha"] = {"alpha_id": POLICY_ID, "version": POLICY_VERSION, "code_hash": code_hash}
    folder = Path(out_dir) if out_dir is not None else hft_home() / "runs" / kind / POLICY_ID / out.run_hash
    folder.parent.mkdir(parents=True, exist_ok=True)
    write_run_folder(folder, out, summary, md, force=True)
    return out, summary, md, folder


def canary_observations(p: Any, data: Sequence[Path], *, source: Any = None, root: Path | None = None,
                        out_dir: Path | None = None) -> Path:
    """Canary observations of the promoted policy `p` (`hft.alpha.governance.promotion.Promotion`) on newer
    `data` (``hft alpha canary rl_mm_q --data``): its artifact (``params.artifact``) replayed greedily through
    the real gateway under the promotion's gateway limits and the RL config's Gate D replay settings, holding at
    most the current ladder step's capital fraction of its ``max_position`` (at least 1 lot). Returns the run
    folder (`_observe`, kind ``canary``), which `hft.alpha.governance.canary.run_canary` then evaluates. `root`
    is accepted for the canary's replay signature (a policy's code is this folder, wherever the alphas are).

    Raises:
        GovernanceError: the code or the artifact changed since the promotion (their code hash differs), or
            the artifact is missing or altered.
    """
    import dataclasses as dc

    from hft.alpha.gates.gate_d import replay_config_for
    from hft.alpha.records.experiments import alpha_code_hash

    artifact = p.params.get("artifact")
    if not artifact:
        raise GovernanceError(f"canary {p.alpha_id}: expected the promotion to name its policy artifact "
                              f"(params.artifact), it names none ({p.file})", key="params.artifact", file=p.file)
    chash = alpha_code_hash(POLICY_ID, RL_DIR.parent, artifact=artifact)
    if chash != p.code_hash:
        raise GovernanceError(f"canary {p.alpha_id}: expected the promoted code and artifact (hash {p.code_hash}), "
                              f"they are now {chash}", key="code_hash", hint="promote the new policy first: "
                              "hft alpha rl-promote")
    policy = load_policy(Path(artifact))
    gate = dc.replace(load_rl_config().validation.gate_d, limits=dict(p.gateway_limits))
    frac = p.canary.ladder[p.canary_step].capital_fraction
    cap = max(1, round(policy.hyper.max_position * frac))
    strategy = QStrategy(policy, learn=False, max_position=cap)
    return _observe(data, strategy, replay_config_for(gate, RL_DIR, None), chash, "canary", source, out_dir)[3]


def _gate_r(policy: QPolicy, retrained: QPolicy | None, cfg: RLConfig) -> tuple[bool, dict[str, Any], list[str]]:
    visited = int(np.count_nonzero(np.any(policy.q != 0.0, axis=1)))
    reasons = []
    if not np.isfinite(policy.q).all():
        reasons.append("Q table: expected finite values, found NaN/inf")
    if visited < cfg.min_states_visited:
        reasons.append(f"states visited: expected >= {cfg.min_states_visited}, was {visited}")
    same = None
    if retrained is not None:
        same = q_digest(retrained) == q_digest(policy)
        if not same:
            reasons.append("determinism: expected retraining with the same seed to reproduce the Q table, it "
                           "differs")
    return not reasons, {"states_visited": visited, "q_digest": q_digest(policy), "reproduced": same}, reasons


def rl_promote(train_data: Sequence[Path], data: Sequence[Path], *, config_path: Path | None = None,
               approvers: Sequence[str] = (), force: bool = False, reason: str | None = None,
               out: Path | None = None, promotions_root: Path | None = None, registry: Any = None,
               actor: str | None = None, now_ns: int | None = None) -> dict[str, Any]:
    """Train, save, record, gate (R, D, E) and promote the Q policy (see the module docstring).

    Returns the promotion result (`hft.alpha.governance.promote.PromoteResult.to_dict`) plus the artifact, Gate R and
    the evaluation summary. Bad input fails before anything is trained or written.
    """
    import dataclasses as dc

    from hft.alpha.gates.gate_d import GateDResult, replay_config_for, replay_metrics, replay_verdict
    from hft.alpha.governance.promote import check_promotable, check_promotion_inputs, conclude_promotion
    from hft.alpha.records.audit import GateDecision, write_gate_decisions
    from hft.alpha.records.experiments import (
        ExperimentRegistry,
        Trial,
        alpha_code_hash,
        current_actor,
        new_experiment_id,
    )
    from hft.alpha.research.features import data_hash
    from hft.core.paths import hft_home
    from hft.recorder.alpha_audit import AUDIT

    train_paths, eval_paths = [Path(p) for p in train_data], [Path(p) for p in data]
    for key, paths in (("train", train_paths), ("data", eval_paths)):
        if not paths:
            raise GovernanceError(f"rl-promote: expected at least one --{key} file, was none", key=key)
        for p in paths:
            if not p.is_file():
                raise GovernanceError(f"{p}: expected a market data file (--{key}), none exists", file=str(p))
    approvers = list(approvers)
    check_promotion_inputs(POLICY_ID, approvers, force, reason)
    cfg = load_rl_config(config_path)
    train_hash, eval_hash = data_hash(train_paths), data_hash(eval_paths)
    if train_hash == eval_hash:
        raise GovernanceError("rl-promote: expected held-out --data other than the --train data, was the same",
                              key="data")
    ts = int(now_ns if now_ns is not None else time.time_ns())
    actor = actor or current_actor()

    t0 = time.time_ns()
    policy = train(train_paths, cfg.hyper)
    retrained = train(train_paths, cfg.hyper) if cfg.determinism else None
    t1 = time.time_ns()
    folder = Path(out) if out is not None else hft_home() / "rl" / POLICY_ID / q_digest(policy)[:16]
    meta = save_policy(policy, folder)
    chash = alpha_code_hash(POLICY_ID, RL_DIR.parent, artifact=folder)  # what status and canary recompute
    current, target = check_promotable(POLICY_ID, chash, ts, promotions_root)

    r_ok, r_metrics, r_reasons = _gate_r(policy, retrained, cfg)
    registry = registry or ExperimentRegistry(AUDIT)
    exp_id = new_experiment_id(POLICY_ID, "rl-train")
    registry.record([Trial(experiment_id=exp_id, alpha_id=POLICY_ID, family=f"rl:{POLICY_ID}",
                           version=POLICY_VERSION, trial=0, kind="rl-train", params=asdict(cfg.hyper),
                           metrics={**r_metrics, "train_run_hashes": meta["train_run_hashes"]}, code_hash=chash,
                           data_hash=train_hash, seed=cfg.hyper.seed, status="ok", started_ns=t0,
                           finished_ns=t1)])
    write_gate_decisions([GateDecision(
        alpha_id=POLICY_ID, version=POLICY_VERSION, code_hash=chash, data_hash=train_hash, gate="R",
        passed=r_ok, metric="states_visited", value=float(r_metrics["states_visited"]),
        threshold=float(cfg.min_states_visited), metrics=r_metrics,
        thresholds={"min_states_visited": cfg.min_states_visited, "determinism": cfg.determinism},
        reasons=r_reasons, experiment_id=exp_id, run_id=meta["train_run_hashes"][-1], ts_ns=ts)],
        sink=registry.sink)

    gate = cfg.validation.gate_d
    rcfg = replay_config_for(gate, RL_DIR, None)
    out_run, summary, md, run_folder = _observe(eval_paths, QStrategy(policy, learn=False), rcfg, chash, "gate_d")
    trades = md.events["kind"]
    from hft.core.dtypes import EV_EXEC, EV_HIDDEN_EXEC, EV_TRADE

    is_trade = (trades == EV_TRADE) | (trades == EV_EXEC) | (trades == EV_HIDDEN_EXEC)
    market_volume = int(md.events["qty"][is_trade].sum())
    metrics = replay_metrics(out_run, summary, gate, market_volume, rcfg.multiplier)
    metrics["lookahead_violations"] = 0  # the policy reads only the local book and its own reports
    d_reasons = replay_verdict(metrics, gate)
    thresholds = {"min_net_pnl": gate.min_net_pnl, "min_sharpe": gate.min_sharpe, "max_drawdown": gate.max_drawdown,
                  "min_fill_ratio": gate.min_fill_ratio, "max_reject_rate": gate.max_reject_rate,
                  "min_orders": gate.min_orders}
    params = {**asdict(cfg.hyper), "artifact": str(folder), "npz_sha256": meta["npz_sha256"]}
    d = GateDResult(alpha_id=POLICY_ID, version=POLICY_VERSION, code_hash=chash, data_hash=eval_hash,
                    passed=not d_reasons, metrics=metrics, thresholds=thresholds, reasons=d_reasons,
                    run_hash=out_run.run_hash, run_folder=str(run_folder), params=params, limits=dict(gate.limits),
                    summary=summary)
    res = conclude_promotion(alpha_id=POLICY_ID, version=POLICY_VERSION, params=params,
                             validation=cfg.validation, code_hash=chash, d=d, approvers=approvers, force=force,
                             reason=reason, ts=ts, actor=actor, current=current, target=target,
                             sink=registry.sink)
    return {**res.to_dict(), "artifact": {"folder": str(folder), **{k: meta[k] for k in ("npz_sha256",
                                                                                          "train_data_hash")}},
            "gate_r": {"passed": r_ok, "metrics": r_metrics, "reasons": r_reasons},
            "experiment_id": exp_id, "hyper": dc.asdict(cfg.hyper)}

