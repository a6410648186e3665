"""Users' own strategies through the real `hft` console script: a file (the README's example as written), a
module, an installed plugin (entry-point group ``hft.strategies``), parameters from the config, and one-line
errors for every way a spec can be wrong."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # starts hft or the service as processes: outside the README's test command

ROOT = Path(__file__).resolve().parents[2]

SIZED = textwrap.dedent('''
    from hft.core.dtypes import BUY
    from hft.sim.strategy import Strategy


    class SizedBid(Strategy):
        name = "sized_bid"

        def __init__(self, size: int = 1, max_position: int = 10) -> None:
            self.size, self.max_position = size, max_position

        def params(self):
            return {"size": self.size, "max_position": self.max_position}

        def on_book(self, ctx):
            if not ctx.orders and ctx.best_bid is not None and ctx.position + self.size <= self.max_position:
                ctx.submit(BUY, ctx.best_bid, self.size)


    class NotAStrategy:
        pass
''')


@pytest.fixture(scope="module")
def day(tmp_path_factory) -> Path:
    from tests.cli.conftest import generated_day

    return generated_day(tmp_path_factory, "own", 5000)


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    (block,) = [b for b in blocks if "class JoinBid" in b]
    return block


def test_readme_example_runs_from_a_file(hft, day, tmp_path):
    (tmp_path / "tmp").mkdir()
    (tmp_path / "tmp" / "join_bid.py").write_text(readme_example())
    r = hft("replay", "-d", str(day), "-s", "tmp/join_bid.py:JoinBid", "--no-store", "--json", cwd=tmp_path)
    assert r.code == 0, r.err
    s = r.json()
    assert s["strategy"] == "join_bid" and s["orders"] > 0 and s["fills"] > 0
    assert 0 < s["position"] <= 10


def test_module_spec_and_params_from_config(hft, day, tmp_path):
    pkg = tmp_path / "src" / "mystrats"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "bids.py").write_text(SIZED)
    cfg = tmp_path / "replay.yaml"
    cfg.write_text("strategies:\n  sized_bid: {size: 2, max_position: 4}\n")
    env = {"PYTHONPATH": str(tmp_path / "src")}
    r = hft("replay", "-d", str(day), "-s", "mystrats.bids:SizedBid", "-c", str(cfg), "--no-store", "--json",
            env=env)
    assert r.code == 0, r.err
    s = r.json()
    assert s["strategy"] == "sized_bid" and s["params"] == {"size": 2, "max_position": 4}
    assert s["position"] == 4 and s["filled_qty"] % 2 == 0
    (tmp_path / "empty.yaml").write_text("{}\n")
    default = hft("replay", "-d", str(day), "-s", "mystrats.bids:SizedBid", "--no-store", "--json",
                  "-c", str(tmp_path / "empty.yaml"), env=env)
    assert default.code == 0, default.err
    assert default.json()["params"] == {"size": 1, "max_position": 10}


def test_installed_plugin_by_name(hft, day, tmp_path):
    """A distribution on the path with an ``hft.strategies`` entry point (what `pip install` of a plugin leaves)."""
    site = tmp_path / "site"
    (site / "acme_hft").mkdir(parents=True)
    (site / "acme_hft" / "__init__.py").write_text(SIZED)
    dist = site / "acme_hft-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-hft\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[hft.strategies]\nacme_bid = acme_hft:SizedBid\n")
    cfg = tmp_path / "replay.yaml"
    cfg.write_text("strategies:\n  acme_bid: {size: 3, max_position: 3}\n")
    r = hft("replay", "-d", str(day), "-s", "acme_bid", "-c", str(cfg), "--no-store", "--json",
            env={"PYTHONPATH": str(site)})
    assert r.code == 0, r.err
    s = r.json()
    assert s["strategy"] == "acme_bid" and s["position"] == 3
    unknown = hft("replay", "-d", str(day), "-s", "acme_bidx", "--no-store", env={"PYTHONPATH": str(site)})
    assert unknown.code == 14 and "acme_bid" in unknown.err and "mm" in unknown.err  # the registry lists both


@pytest.mark.parametrize(("spec", "config", "code", "text"), [
    ("missing/nope.py:JoinBid", None, 14, "expected a Python file at missing/nope.py, none exists"),
    ("strats.py:Nope", None, 14, "expected a class 'Nope' in strats.py"),
    ("strats.py:NotAStrategy", None, 14, "error: strategy 'strats.py:NotAStrategy': expected a subclass of "
     "hft.sim.strategy.Strategy, was class NotAStrategy (bases: object)\n"),
    ("no_such_pkg.mod:X", None, 14, "expected an importable module 'no_such_pkg.mod'"),
    ("no_such_pkg.mod:X", None, 14, "hint: make it importable: put the folder holding no_such_pkg/ on PYTHONPATH, "
     "or install its package (pip install -e .); or name the file by its path, with .py: no_such_pkg/mod.py:X\n"),
    ("strats.py:Bare", "strategies:\n  Bare: {size: 2}\n", 11,
     "error: strategy Bare: unknown parameter 'size': the strategy takes no parameters\n"),
    ("broken.py:X", None, 14, "broken.py:2 failed to import (ZeroDivisionError"),
    ("strats.py:SizedBid", "strategies:\n  sized_bid: {size: two}\n", 11,
     "strategy sized_bid: parameter 'size': expected an integer, was 'two'"),
    ("strats.py:SizedBid", "strategies:\n  sized_bid: {sise: 2}\n", 11,
     "strategy sized_bid: unknown parameter 'sise': expected one of ['max_position', 'size']"),
    ("join_bid", None, 14, "expected a registered strategy (one of ["),
])
def test_bad_specs_are_one_line_errors(hft, day, tmp_path, spec, config, code, text):
    (tmp_path / "strats.py").write_text(SIZED + "\n\nclass Bare(Strategy):\n    pass\n")
    (tmp_path / "broken.py").write_text("x = 1\ny = 1 / 0\n")
    args = ["replay", "-d", str(day), "-s", spec, "--no-store"]
    if config is not None:
        (tmp_path / "c.yaml").write_text(config)
        args += ["-c", "c.yaml"]
    r = hft(*args, cwd=tmp_path)
    assert r.code == code, (r.out, r.err)
    assert text in r.err and "Traceback" not in r.err and "hft_user_" not in r.err  # never the private module
    assert r.err.startswith("error: ") and len([ln for ln in r.err.splitlines() if ln.startswith("error")]) == 1


RAISING = textwrap.dedent('''
    from hft.core.dtypes import BUY
    from hft.sim.strategy import Strategy


    def fuse(n):
        raise RuntimeError(f"kaboom after {n}\\nsecond line")


    class Boom(Strategy):
        def on_book(self, ctx):
            fuse(1)


    class Huge(Strategy):
        def on_book(self, ctx):
            if not ctx.orders and ctx.best_bid is not None:
                ctx.submit(BUY, ctx.best_bid, 10**30)


    class FarCancel(Strategy):
        def on_book(self, ctx):
            ctx.cancel(-2**63 - 5)


    class BadInit(Strategy):
        def __init__(self):
            raise KeyError("no such table")
''')


@pytest.mark.parametrize(("cls", "text"), [
    ("Boom", "strategy mine.py:Boom: on_book raised RuntimeError: kaboom after 1 (mine.py:7)"),
    ("Huge", "strategy mine.py:Huge: on_book: ctx.submit: qty: expected an integer within "
             "±9,223,372,036,854,775,807 (int64), was 1000000000000000000000000000000 (mine.py:18)"),
    ("FarCancel", "strategy mine.py:FarCancel: on_book: ctx.cancel: order_id: expected an integer within "
                  "±9,223,372,036,854,775,807 (int64), was -9223372036854775813 (mine.py:23)"),
])
@pytest.mark.parametrize("engine", ["numba", "python"])
def test_the_users_strategy_failing_is_their_error(hft, day, tmp_path, cls, text, engine):
    """An exception the user's own strategy raises (or a field out of int64 it sends) is one simulator error
    naming the spec, the callback and the user's file:line, exit 14, no traceback but with HFT_DEBUG=1."""
    (tmp_path / "mine.py").write_text(RAISING)
    args = ("replay", "-d", str(day), "-s", f"mine.py:{cls}", "--no-store", "--engine", engine)
    r = hft(*args, cwd=tmp_path)
    assert (r.code, r.err) == (14, f"error: {text}\n")
    j = hft(*args, "--json", cwd=tmp_path)
    assert j.code == 14 and j.json()["error"] == "SimError" and j.json()["message"] == text
    if cls == "Boom" and engine == "numba":
        debug = hft(*args, cwd=tmp_path, env={"HFT_DEBUG": "1"})
        assert debug.code == 14 and "Traceback" in debug.err and 'mine.py", line 7, in fuse' in debug.err


def test_the_users_constructor_failing_is_their_error(hft, day, tmp_path):
    """A user's ``__init__`` raising (not a parameter refused) was an internal error of hft."""
    (tmp_path / "mine.py").write_text(RAISING)
    r = hft("replay", "-d", str(day), "-s", "mine.py:BadInit", "--no-store", cwd=tmp_path)
    assert (r.code, r.err) == (14, "error: strategy BadInit: __init__ raised KeyError: 'no such table' (mine.py:28)\n")
