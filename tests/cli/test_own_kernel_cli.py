"""Numba strategy kernels written outside the package (docs/extending.md, "Numba strategy kernels"), run by the
real `hft` console script through the three routes: a file, a module and an installed plugin (entry-point group
``hft.strategy_kernels``); the kernel runs inside the numba loop and, on the reference engine, from Python, with
the same run hash."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # starts hft or the service as processes: outside the README's test command

KERNEL = textwrap.dedent('''
    from numba import njit

    from hft.sim.kernel_api import (
        BUY, IN_CANCEL, IN_SUBMIT, LTOP_BID, NO_PRICE, S_NORD, S_PARAMS, S_POS, SO_ID, SO_PRICE, SO_STATUS,
        SO_WORKING, KernelStrategy,
    )


    @njit(cache=True)
    def _join(st, ltop, sord, intents, size, max_position):
        bid = ltop[LTOP_BID]
        if bid == NO_PRICE:
            return 0
        if st[S_NORD] == 0:
            if st[S_POS] + size > max_position:
                return 0
            intents[0, 0] = IN_SUBMIT
            intents[0, 1] = BUY
            intents[0, 2] = bid
            intents[0, 3] = size
            intents[0, 4] = 0
            return 1
        if sord[0, SO_STATUS] == SO_WORKING and sord[0, SO_PRICE] != bid:
            intents[0, 0] = IN_CANCEL
            intents[0, 1] = 0
            intents[0, 2] = 0
            intents[0, 3] = 0
            intents[0, 4] = sord[0, SO_ID]
            return 1
        return 0


    @njit(cache=True)
    def join_bid(st, ltop, sord, intents):
        """Rest one buy at the best bid, follow the bid, stop at max_position (parameters 0 and 1)."""
        return _join(st, ltop, sord, intents, st[S_PARAMS], st[S_PARAMS + 1])


    @njit(cache=True)
    def join_bid_one(st, ltop, sord, intents):
        """The same rule without parameters: one lot, at most 3."""
        return _join(st, ltop, sord, intents, 1, 3)


    class JoinBidNb(KernelStrategy):
        name = "join_bid_nb"
        nb_kernel = join_bid
        DEFAULTS = {"size": 1, "max_position": 5}


    class JoinBidBySpec(KernelStrategy):
        name = "join_bid_spec"
        nb_kernel = "userk.kernels:join_bid"   # a module:func spec, resolved like a strategy spec
        DEFAULTS = {"size": 2, "max_position": 4}
''')


@pytest.fixture(scope="module")
def day(tmp_path_factory) -> Path:
    from tests.cli.conftest import generated_day

    return generated_day(tmp_path_factory, "kern", 3000)


def test_kernel_strategy_from_a_file_runs_in_the_loop_and_in_python_alike(hft, day, tmp_path: Path) -> None:
    (tmp_path / "my_kernel.py").write_text(KERNEL)
    (tmp_path / "cfg.yaml").write_text("strategies:\n  join_bid_nb: {size: 1, max_position: 3}\n")
    runs = {}
    for engine in ("numba", "python"):
        r = hft("replay", "-d", str(day), "-s", "my_kernel.py:JoinBidNb", "-c", "cfg.yaml", "--engine", engine,
                "--no-store", "--json", cwd=tmp_path)
        assert r.code == 0, r.err
        runs[engine] = r.json()
    s = runs["numba"]
    assert s["strategy"] == "join_bid_nb" and s["params"] == {"size": 1, "max_position": 3}
    assert s["position"] == 3 and s["fills"] >= 3 and s["orders"] >= 3  # the kernel's rule: 3 lots, then stop
    assert s["run_hash"] == runs["python"]["run_hash"]
    # a bare kernel function is a strategy too (no parameters), keyed by its name
    r = hft("replay", "-d", str(day), "-s", "my_kernel.py:join_bid_one", "--no-store", "--json", cwd=tmp_path)
    assert r.code == 0, r.err
    assert r.json()["strategy"] == "join_bid_one" and r.json()["position"] == 3
    assert r.json()["run_hash"] == s["run_hash"]  # the same rule with the same numbers


def test_kernel_by_module_spec_and_by_entry_point(hft, day, tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "userk").mkdir(parents=True)
    (site / "userk" / "__init__.py").write_text("")
    (site / "userk" / "kernels.py").write_text(KERNEL)
    env = {"PYTHONPATH": str(site)}
    r = hft("replay", "-d", str(day), "-s", "userk.kernels:JoinBidBySpec", "--no-store", "--json", env=env)
    assert r.code == 0, r.err
    assert r.json()["strategy"] == "join_bid_spec" and r.json()["position"] == 4
    dist = site / "userk-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: userk\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[hft.strategy_kernels]\nuser_join = userk.kernels:join_bid\n"
                                           "[hft.strategies]\nuser_join_one = userk.kernels:join_bid_one\n")
    (site / "userk" / "plugin.py").write_text(
        "from hft.sim.kernel_api import KernelStrategy\n\n\nclass ByName(KernelStrategy):\n"
        "    name = 'by_name'\n    nb_kernel = 'user_join'\n    DEFAULTS = {'size': 1, 'max_position': 2}\n")
    r = hft("replay", "-d", str(day), "-s", "userk.plugin:ByName", "--no-store", "--json", env=env)
    assert r.code == 0, r.err
    assert r.json()["strategy"] == "by_name" and r.json()["position"] == 2
    r = hft("replay", "-d", str(day), "-s", "user_join_one", "--no-store", "--json", env=env)
    assert r.code == 0, r.err
    assert r.json()["strategy"] == "user_join_one" and r.json()["position"] == 3


def test_a_kernel_spec_that_is_not_a_kernel_is_one_line(hft, day, tmp_path: Path) -> None:
    (tmp_path / "k.py").write_text(KERNEL + "\n\nclass Bad(KernelStrategy):\n    nb_kernel = 'nowhere_kernel'\n"
                                            "\n\nclass NotNjit(KernelStrategy):\n    nb_kernel = 'k.py:NotNjit'\n")
    r = hft("replay", "-d", str(day), "-s", "k.py:Bad", "--no-store", cwd=tmp_path)
    assert r.code == 14 and "Traceback" not in r.err
    assert "expected a registered strategy kernel (one of ['hedged_mm', 'mm']: built in or in the entry-point " \
           "group 'hft.strategy_kernels')" in r.err
    r = hft("replay", "-d", str(day), "-s", "k.py:NotNjit", "--no-store", cwd=tmp_path)
    assert r.code == 14 and "Traceback" not in r.err
    assert "strategy kernel k.py:NotNjit: kernel NotNjit: expected a numba @njit function" in r.err.splitlines()[0]
    assert "was class NotNjit" in r.err


BAD = textwrap.dedent('''
    from numba import njit

    from hft.sim.kernel_api import KernelStrategy


    @njit
    def three(st, ltop, sord):
        return 0


    @njit
    def pyobj(st, ltop, sord, intents):
        d = {"a": object()}
        return 0


    def plain(st, ltop, sord, intents):
        return 0


    @njit
    def floaty(st, ltop, sord, intents):
        return 0.5


    @njit
    def too_many(st, ltop, sord, intents):
        return 99


    @njit
    def unwritten(st, ltop, sord, intents):
        return 2


    class Three(KernelStrategy):
        nb_kernel = three


    class PyObj(KernelStrategy):
        nb_kernel = pyobj


    class Plain(KernelStrategy):
        nb_kernel = plain


    class Floaty(KernelStrategy):
        nb_kernel = floaty


    class TooMany(KernelStrategy):
        nb_kernel = too_many


    class Unwritten(KernelStrategy):
        nb_kernel = unwritten
''')


@pytest.mark.parametrize("engine", ["numba", "python"])
def test_a_bad_kernel_is_one_strategy_line_on_either_engine(hft, day, tmp_path: Path, engine: str) -> None:
    """A kernel numba cannot type, of the wrong arity, not @njit, returning a float or an impossible count: one
    line naming the file:class, the kernel and the documented signature; a strategy error, never numba's dump."""
    (tmp_path / "bad.py").write_text(BAD)
    sig = "kernel(st, ltop, sord, intents) -> int"
    want = {
        "Three": "bad.py:Three: kernel three: expected kernel(st, ltop, sord, intents, depth, trades, acct) -> int "
                 f"(7 arguments) or {sig} (4 arguments), was three(st, ltop, sord)",
        "PyObj": f"bad.py:PyObj: kernel pyobj: expected {sig} that numba compiles, was refused by numba: "
                 "Untyped global name 'object'",
        "Plain": f"bad.py:Plain: kernel plain: expected a numba @njit function {sig}, was a plain Python function",
        "Floaty": f"bad.py:Floaty: kernel floaty: expected {sig} returning an integer",
        "TooMany": "bad.py:TooMany (kernel too_many): returned 99 intents: expected 0 to 8 (MAX_INTENTS)",
        "Unwritten": "bad.py:Unwritten (kernel unwritten): returned 2 intents, but intent row 0 is empty (action 0): "
                     "expected 1 (IN_SUBMIT) or 2 (IN_CANCEL)",
    }
    for cls, text in want.items():
        r = hft("replay", "-d", str(day), "-s", f"bad.py:{cls}", "--engine", engine, "--no-store", cwd=tmp_path)
        assert r.code == 14, (cls, r.code, r.err)
        lines = r.err.strip().splitlines()
        assert lines[0].startswith("error: strategy kernel ") and text in lines[0], (cls, r.err)
        assert len(lines) <= 2 and "Traceback" not in r.err and "internal error" not in r.err, (cls, r.err)
        assert "strategy_kernels.py" not in r.err and "report it" not in r.err, (cls, r.err)


def test_a_bare_kernel_that_reads_parameters_is_refused(hft, day, tmp_path: Path) -> None:
    """A bare kernel (`-s file.py:func`) has no parameters: one reading ``st[S_PARAMS + i]`` would run with every
    one at 0, so it is refused, pointing at the class form (which `--set` then configures)."""
    (tmp_path / "my_kernel.py").write_text(KERNEL)
    r = hft("replay", "-d", str(day), "-s", "my_kernel.py:join_bid", "--no-store", cwd=tmp_path)
    assert r.code == 14 and "Traceback" not in r.err
    assert ("strategy kernel my_kernel.py:join_bid: kernel join_bid reads st[S_PARAMS + i], but a bare kernel has "
            "no parameters") in r.err.splitlines()[0]
    assert "KernelStrategy subclass with nb_kernel and DEFAULTS" in r.err
    r = hft("replay", "-d", str(day), "-s", "my_kernel.py:JoinBidNb", "--set", "strategies.join_bid_nb.size=2",
            "--no-store", "--json", cwd=tmp_path)
    assert r.code == 0, r.err
    assert r.json()["params"]["size"] == 2
