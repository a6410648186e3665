"""Arenas of an older layout migrated to the current one (`hft.gateway.arena_migration`); the service-level test
(a real snapshot of the old hft over a pruned WAL) is tests/service/test_service_snapshot.py."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hft.gateway import kernels as K
from hft.gateway.arena_migration import STEPS, migrate

ARENA_V2_REV = "797d705"  # the last commit of arena layout version 2
CAPS = {"max_accounts": 3, "max_strategies": 5, "max_symbols": 4, "exposure_slots": 16, "working_orders": 32,
        "dedup_capacity": 64}


def _module(tmp_path: Path, rev: str, path: str, name: str, src_edit=lambda s: s):
    """File `path` as commit `rev` had it (``git show``), imported as module `name`."""
    root = Path(__file__).resolve().parents[3]
    try:
        src = subprocess.run(["git", "-C", str(root), "show", f"{rev}:{path}"], capture_output=True, check=True,
                             text=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"commit {rev} not available: {exc}")
    p = tmp_path / f"{name}.py"
    p.write_text(src_edit(src))
    spec = importlib.util.spec_from_file_location(name, p)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def _old_layout(tmp_path: Path, rev: str):
    """`hft.gateway.kernels.layout` as commit `rev` had it, with that commit's limit table (its row width)."""
    lim = _module(tmp_path, rev, "hft/gateway/limits.py", f"_limits_{rev}")
    return _module(tmp_path, rev, "hft/gateway/kernels/layout.py", f"_layout_{rev}",
                   lambda s: s.replace("from hft.gateway.limits import", f"from {lim.__name__} import"))


def test_a_v2_arena_made_by_the_old_code_becomes_a_current_one_with_every_word_kept(tmp_path):
    """A version 2 arena from the old `new_arena`, with values in every table the migration touches or copies."""
    old = _old_layout(tmp_path, ARENA_V2_REV)
    assert old.VERSION == 2 and old.N_S == 8 and old.N_A == 4 and old.N_LIM == 16
    buf = old.new_arena(**CAPS)
    v = old.views(buf)
    rng = np.random.default_rng(7)
    for t in (v.strat, v.acct, v.slot, v.ord, v.dde, v.lim_acct, v.sym):
        t[:] = rng.integers(-10**6, 10**6, t.shape)  # any content: it is copied word for word
    v.ctr[K.K_NEXT_OID] = 4242
    new = migrate(buf)
    assert new is not None and K.same_layout(new, K.new_arena(**CAPS))
    n = K.views(new)
    assert int(new[K.H_VERSION]) == K.VERSION and n.ctr[K.K_NEXT_OID] == 4242
    for name in ("cfg", "ctr", "reasons", "sym", "slot", "smap", "free", "ord", "dde", "ddx", "rc"):
        assert np.array_equal(getattr(n, name), getattr(v, name)), name
    assert np.array_equal(n.strat[:, :8], v.strat) and np.array_equal(n.acct[:, :4], v.acct)
    assert np.array_equal(n.lim_def[:16], v.lim_def) and (n.lim_def[16:] == K.UNLIMITED).all()
    for name in ("lim_acct", "lim_strat", "lim_sym"):  # the new limit fields unset (inherit) at every level
        assert np.array_equal(getattr(n, name)[:, :16], getattr(v, name)) and (getattr(n, name)[:, 16:] == -1).all()
    # the new buckets: never used (full at their first use), as a new arena's
    assert (n.strat[:, K.S_SUB2_TS] == K.I64_MIN).all() and (n.strat[:, K.S_SUB2_TOK] == 0).all()
    assert (n.acct[:, K.A_SUB_TS] == K.I64_MIN).all() and (n.acct[:, K.A_SUB2_TS] == K.I64_MIN).all()
    assert (n.acct[:, K.A_SUB_TOK] == 0).all()


def test_what_no_step_reads_is_refused():
    cur = K.new_arena(**CAPS)
    assert migrate(cur) is cur  # already current: nothing to do
    for bad in (None, np.zeros(4, np.int64), cur.astype(np.float64)):
        assert migrate(bad) is None
    other = cur.copy()
    other[K.H_MAGIC] = 0
    assert migrate(other) is None
    for version in (1, K.VERSION + 1):  # no step from it (a newer layout included)
        assert version not in STEPS
        older = cur.copy()
        older[K.H_VERSION] = version
        assert migrate(older) is None
    broken = cur.copy()
    broken[K.H_VERSION] = 2
    broken[K.H_BASE + 3 * K.T_ORD] = len(broken)  # a table past the end: no layout to read
    assert migrate(broken) is None
