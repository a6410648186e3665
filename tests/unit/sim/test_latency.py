"""Latency models: constant, seeded random (order-independent), empirical interpolation, feed times."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hft.core.errors import ConfigError
from hft.sim import latency as L
from hft.sim.latency_file import load_empirical


def test_constant():
    m = L.constant(1_000_000)
    assert [L.latency_ns(m, t, d) for t, d in [(0, 0), (10**18, 99)]] == [1_000_000, 1_000_000]


def test_random_is_seeded_per_draw_and_bounded():
    m = L.random(500_000, 100_000, seed=42)
    a = [L.latency_ns(m, 0, d) for d in range(2000)]
    b = [L.latency_ns(m, 0, d) for d in reversed(range(2000))][::-1]
    assert a == b, "latency of draw n must not depend on evaluation order"
    arr = np.array(a)
    assert arr.min() >= 500_000 and arr.max() <= 500_000 + 20 * 100_000
    assert 80_000 < (arr - 500_000).mean() < 120_000  # exponential mean ~ jitter
    other = [L.latency_ns(L.random(500_000, 100_000, seed=43), 0, d) for d in range(50)]
    assert other != a[:50]


def test_random_same_across_processes():
    code = ("from hft.sim import latency as L; m=L.random(1000, 500, seed=7); "
            "print([L.latency_ns(m, 0, d) for d in range(5)])")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": str(h), "PATH": ""}).stdout for h in (1, 2)}
    assert len(outs) == 1


def test_empirical_interpolates_and_clamps():
    m = L.empirical(np.array([0, 100, 200]), np.array([10, 30, 30]))
    assert L.latency_ns(m, -5, 0) == 10
    assert L.latency_ns(m, 50, 0) == 20
    assert L.latency_ns(m, 100, 0) == 30
    assert L.latency_ns(m, 10**9, 0) == 30


def test_load_empirical_csv(tmp_path):
    f = tmp_path / "lat.csv"
    f.write_text("t_ns,entry_ns,response_ns\n0,100,50\n1000,300,70\n")
    m = load_empirical(f, "entry_ns")
    assert L.latency_ns(m, 500, 0) == 200
    with pytest.raises(ConfigError, match="expected column 'bogus'"):
        load_empirical(f, "bogus")


@pytest.mark.parametrize("body, match", [
    ("t_ns,entry_ns\n0,100.5\n1000,300\n", "column 'entry_ns': expected integer nanoseconds"),  # no truncation
    ("t_ns,entry_ns\n0,100\n1000,\n", "column 'entry_ns' row 2: expected an integer, was empty"),
    ("t_ns,entry_ns\n", "at least one latency row"),
    ("t_ns,entry_ns\n1000,1\n0,2\n", "non-decreasing"),
    ("t_ns,entry_ns\n0,-5\n", "latencies >= 0"),
])
def test_load_empirical_rejects_bad_files_naming_them(tmp_path, body, match):
    f = tmp_path / "lat.csv"
    f.write_text(body)
    with pytest.raises(ConfigError, match=match) as exc:
        load_empirical(f, "entry_ns")
    assert str(f) in exc.value.message


@pytest.mark.parametrize("bad", [
    lambda: L.constant(-1),
    lambda: L.random(10, -1, seed=0),
    lambda: L.empirical(np.array([2, 1]), np.array([1, 1])),
    lambda: L.empirical(np.array([1]), np.array([-1])),
])
def test_bad_models_rejected(bad):
    with pytest.raises(ConfigError):
        bad()


@given(st.lists(st.integers(0, 10**12), min_size=1, max_size=50), st.integers(0, 10**9))
def test_feed_times_causal_and_monotone(exch, lag):
    exch_ts = np.sort(np.array(exch, dtype=np.int64))
    local = exch_ts - lag  # a recorder clock behind the venue
    out = L.feed_local_times(exch_ts, local, None)
    assert np.all(out >= exch_ts) and np.all(np.diff(out) >= 0)
    out2 = L.feed_local_times(exch_ts, None, L.constant(1000))
    assert np.all(out2 >= exch_ts + 1000) and np.all(np.diff(out2) >= 0)


@given(st.lists(st.lists(st.integers(0, 10**9), max_size=20), min_size=1, max_size=4),
       st.integers(0, 10**6), st.integers(0, 2**32), st.booleans())
def test_feed_times_of_legs_are_each_legs_own(legs, lag, seed, model):
    """Several legs' events concatenated (`starts`): a feed model's times are each leg's alone (its own draws from
    0, its own running maximum); the data's local times take one shift for all the legs (the largest lag of any)."""
    exch = [np.array(t, dtype=np.int64) for t in legs]
    rng = np.random.default_rng(seed)
    local = [t + rng.integers(-lag, 1_000_000, len(t)) for t in exch]  # some before their exchange time
    starts = np.concatenate([[0], np.cumsum([len(t) for t in exch])]).astype(np.int64)
    feed = L.random(1000, 50_000, seed=seed) if model else None
    out = L.feed_local_times(np.concatenate(exch), np.concatenate(local), feed, starts)
    shift = max([0] + [int(np.max(e - loc)) for e, loc in zip(exch, local, strict=True) if len(e)])
    for k, (e, loc) in enumerate(zip(exch, local, strict=True)):
        own = out[starts[k]:starts[k + 1]]
        alone = L.feed_local_times(e, loc + shift, None) if feed is None else L.feed_local_times(e, None, feed)
        assert np.array_equal(own, alone), k
        assert np.all(own >= e) and np.all(np.diff(own) >= 0)


def test_every_model_has_one_numba_type():
    """A recorded series read from a file is often read-only; the model still has the type of every other model,
    so a kernel taking a model compiles once (`hft warmup` covers it) and not again for such a series."""
    import numba

    from hft.sim.latency import constant, empirical, random

    t, v = np.array([0, 10, 20], np.int64), np.array([5, 6, 7], np.int64)
    t.setflags(write=False)
    v.setflags(write=False)
    rec = empirical(t, v)
    kinds = {numba.typeof(m) for m in (constant(5), random(5, 2, 1), rec, empirical(t.astype(np.int32), v))}
    assert len(kinds) == 1
    assert rec.times.flags.writeable and rec.times.tolist() == [0, 10, 20]
    assert not t.flags.writeable  # the caller's arrays are left as they were


@given(st.integers(0, 10**13), st.integers(0, 10**6))
def test_latency_of_python_callers_equals_the_kernel(t, draw):
    """`latency_of` (the engines' Python side: commands and reports of a Python strategy) answers what the
    compiled `latency_ns` answers, for every kind of model."""
    models = [L.constant(50_000), L.random(20_000, 5_000, seed=3, cap_ns=200_000),
              L.empirical(np.array([0, 10**12, 10**13], np.int64), np.array([10_000, 90_000, 30_000], np.int64))]
    for m in models:
        got = L.latency_of(m, t, draw)
        assert type(got) is int and got == int(L.latency_ns(m, t, draw))
