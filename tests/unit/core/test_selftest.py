"""The kernels' known-answer self-test (hft/core/selftest.py): every family gives its recorded answers on the CPU
target this suite is compiled for (CI runs it on several), a planted wrong kernel is refused in one line naming
the family and the target, and a pass is recorded once per cache and target."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hft.core import selftest
from hft.core.errors import KernelError

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("family", sorted(selftest.FAMILIES))
def test_every_family_gives_its_known_answers(family: str) -> None:
    got = selftest.answers(family)  # every answer, so a failure shows all that moved
    moved = {a.what: a.got for a in got if a.got != a.expected}
    assert not moved, (f"{family}: the known answers moved on CPU target {selftest.target()}; if the kernels' "
                       f"behaviour changed on purpose, record these in {selftest.FAMILIES[family][0]}: {moved}")
    assert len(got) >= 1 and all(a.expected for a in got)


def test_a_wrong_answer_is_a_kernel_error_naming_family_target_and_fallback(monkeypatch) -> None:
    monkeypatch.setitem(selftest.FAMILIES, "planted", ("tests.unit.core.test_selftest:_planted", "a planted check"))
    with pytest.raises(KernelError) as exc:
        selftest.run("planted")
    msg = str(exc.value)
    assert msg.startswith("the planted kernels (a planted check) compiled for CPU target ")
    assert "answer a known input wrongly: two plus two: expected 4, got 5 (and 1 more); nothing was run" in msg
    assert "NUMBA_CPU_NAME=x86-64-v2" in exc.value.hint and exc.value.exit_code == 18
    assert exc.value.fields["family"] == "planted" and exc.value.fields["found"] == "5"


def _planted() -> list[selftest.Answer]:
    return [selftest.Answer("two plus two", "4", "5"), selftest.Answer("one", "1", "1"),
            selftest.Answer("three", "3", "2")]


# (file, its text, the planted text, what the refusal says): compiled code that gives wrong numbers
PLANTS = {
    "silently wrong levels": ("binance.py", "px[a + r], qty[a + r], 0, u, EV_LEVEL_SET",
                              "px[a + r], qty[a + r] + 1, 0, u, EV_LEVEL_SET",
                              "answer a known input wrongly: usdm capture: events: expected 199 xh64:"),
    "every digit one too high": ("_binance_scan.py", "v = v * 10 + (c - 48)", "v = v * 10 + (c - 47)",
                                 "answer a known input wrongly: its known input: expected answers, got "
                                 "ScannerDisagreement: "),
}


@pytest.mark.parametrize("plant", sorted(PLANTS))
def test_a_planted_wrong_kernel_is_refused_before_anything_runs_on_it(tmp_path: Path, plant: str) -> None:
    from hft.data.selftest import _capture_lines

    name, text, wrong, says = PLANTS[plant]
    root = tmp_path / "planted"  # a copy of the package with one kernel changed
    shutil.copytree(REPO / "hft", root / "hft", ignore=shutil.ignore_patterns("__pycache__"))
    src = root / "hft" / "data" / name
    assert src.read_text().count(text) == 1
    src.write_text(src.read_text().replace(text, wrong))
    cap = tmp_path / "usdm" / "btcusdt_20240808.gz"
    cap.parent.mkdir()
    cap.write_bytes(gzip.compress(("\n".join(_capture_lines("usdm")) + "\n").encode()))
    cache = tmp_path / "cache"
    env = {**os.environ, "PYTHONPATH": str(root), "NUMBA_CACHE_DIR": str(cache)}
    env.pop("HFT_DEBUG", None)
    out = tmp_path / "x.parquet"
    cmd = [sys.executable, "-c", "from hft.cli.app import main; main()", "data", "import", str(cap), "--out", str(out)]
    for _ in range(2):  # refused again: a failed check records nothing
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=900)
        assert p.returncode == 18, p.stderr
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 2 and "Traceback" not in p.stderr, p.stderr
        assert lines[0].startswith("error: the binance kernels (the Binance capture scanner, units and sync "
                                   "kernels) compiled for CPU target ") and says in lines[0], lines[0]
        assert lines[1].startswith("hint: this is the compiled code, not your data: run with "
                                   "NUMBA_CPU_NAME=x86-64-v2")
        assert not out.exists() and not list((cache / "hft-selftest").glob("binance-*"))


def test_a_pass_is_recorded_per_cache_and_target(tmp_path: Path) -> None:
    code = ("import os, pathlib, hft; from hft.core import selftest; selftest.ensure('events'); "
            "print(sorted(p.name.split('-')[0] for p in "
            "(pathlib.Path(os.environ['NUMBA_CACHE_DIR']) / 'hft-selftest').iterdir()))")
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CPU_NAME", "NUMBA_CPU_FEATURES")}
    env["NUMBA_CACHE_DIR"] = str(tmp_path)
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert first.stdout.strip() == "['events']"
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert again.stdout.strip() == "['events']"  # the same cache and target: recorded once
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**env, "NUMBA_CPU_NAME": "x86-64"})  # never the default (hft picks v2 or above)
    assert other.stdout.strip() == "['events', 'events']"  # another target: checked and recorded apart
