"""docs/sim.md's in-memory results snippet (``replay_result``) runs as written and reproduces what ``hft replay``
gives on the same day: the Python API's default config is the CLI's (the shipped config/sim/replay.yaml)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _snippet() -> str:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "sim.md").read_text(), flags=re.S)
    (block,) = [b for b in blocks if "replay_result(" in b]
    return block


def test_results_snippet_reproduces_the_cli_run() -> None:
    from tests.cli.conftest import run_hft

    ns: dict = {}
    exec(compile(_snippet(), "docs/sim.md", "exec"), ns)  # the documented snippet, as a user runs it
    run, day = ns["run"], ns["day"]
    cli = run_hft("replay", "-d", str(day["AAA"]), "-s", "mm", "--no-store", "--json")
    assert cli.code == 0, cli.err
    s = cli.json()
    assert run.summary["run_hash"] == s["run_hash"]
    assert run.summary["fees"] == s["fees"] and run.summary["pnl"] == s["pnl"]
    assert run.summary["fees"] != 0  # the shipped config's fees are in (parse_replay_config({}) has none)


def test_load_replay_config_without_a_path_is_the_shipped_config() -> None:
    from hft.sim.replay import DEFAULT_CONFIG, ReplayConfig, load_replay_config

    shipped = load_replay_config(DEFAULT_CONFIG)
    assert load_replay_config() == shipped and load_replay_config(None) == shipped
    assert (shipped.maker_bps, shipped.taker_bps) != (ReplayConfig().maker_bps, ReplayConfig().taker_bps)
    assert shipped.sources == (str(DEFAULT_CONFIG),)
