"""``hft strategy live``'s refusals before anything trades: a config with an unknown key or an unknown strategy (exit
11) and a service that does not answer (exit 13), each one line. The runs against a service:
tests/service/test_strategy_live.py."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow  # starts hft as processes: outside the README's test command

GOOD = "strategy: twap\nstrategies: {twap: {qty: 10}}\naccount: ACC1\nstrategy_id: algo1\nsymbol: GOOG\n"


@pytest.mark.parametrize(("text", "said"), [
    (GOOD + "venue: paper\n", "unknown key 'venue'"),
    (GOOD.replace("strategy: twap", "strategy: twapp"), "twapp"),
    (GOOD.replace("{qty: 10}", "{qty: 10, slice: 3}"), "unknown parameter 'slice'"),
])
def test_a_bad_config_is_one_line(hft, tmp_path, text, said):
    cfg = tmp_path / "algo.yaml"
    cfg.write_text(text)
    r = hft("strategy", "live", str(cfg), "--service", "http://127.0.0.1:9", "--token", "t")
    assert r.code in (11, 14) and said in r.err and r.err.count("error:") == 1, r.err
    assert "Traceback" not in r.err


def test_a_service_that_does_not_answer_is_one_line(hft, tmp_path):
    from hft.live.service_process import free_port

    cfg = tmp_path / "algo.yaml"
    cfg.write_text(GOOD)
    r = hft("strategy", "live", str(cfg), "--service", f"http://127.0.0.1:{free_port()}", "--token", "t", "--json")
    assert r.code == 13 and "GET /health" in r.err and "Traceback" not in r.err, r.err
    assert '"ok": false' in r.out
