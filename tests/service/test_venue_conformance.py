"""The venue adapter conformance suite (`hft.live.venue_conformance`) against the built-in adapters: loopback (its
rest mode: IOC orders fill, GTC orders rest) and paper (a recorded LOBSTER day). The crash clause (a SIGKILL and a
restart) and paper (a day to load) are the slow parts."""

from __future__ import annotations

import pytest

from hft.live import venue_conformance as vc


def test_loopback_conforms(tmp_path):
    clauses = [c for c in vc.CLAUSES if c != "crash_reconcile"]
    assert vc.run(vc.Profile("loopback", {"mode": "rest"}), tmp_path, clauses) == dict.fromkeys(clauses, "ok")


@pytest.mark.slow
def test_loopback_conforms_across_a_crash(tmp_path):
    out = vc.run(vc.Profile("loopback", {"mode": "rest"}), tmp_path, ["crash_reconcile"])
    assert out == {"crash_reconcile": "ok"}


def test_an_unknown_clause_is_refused(tmp_path):
    with pytest.raises(ValueError, match="expected clauses from"):
        vc.run(vc.Profile(), tmp_path, ["nope"])


@pytest.mark.slow
def test_an_adapter_that_does_not_rest_fails_the_cancel_clause(tmp_path):
    # the profile says GTC orders rest; the loopback venue in fill mode fills them: the clause names the difference
    with pytest.raises(vc.ConformanceError, match=r"cancel: order \d+: expected status in \['working'\]"):
        vc.run(vc.Profile("loopback", {"mode": "fill"}, wait_s=3), tmp_path, ["cancel"])


def _paper_rest(h):
    return {"side": "buy", "price": (h["last_trade"] or 58_000) - 500, "tif": "gtc"}  # $5 under the market (cents)


@pytest.mark.slow
@pytest.mark.shared_data
def test_paper_conforms(shared_data, tmp_path):
    day = shared_data / "lobster" / "LOBSTER_SampleFile_GOOG_2012-06-21_1.zip"
    if not day.exists():
        pytest.skip(f"{day} not present")
    profile = vc.Profile("paper", {"data": str(day), "speed": 20}, symbol="GOOG",
                         fill=lambda h: {"side": "sell", "price": h["last_trade"] - 200, "tif": "ioc"},  # marketable
                         rest=_paper_rest, ready=lambda h: h["last_trade"] > 0, wait_s=60)
    out = vc.run(profile, tmp_path)
    assert out == dict.fromkeys(vc.CLAUSES, "ok")  # its journal: reconciled like an exchange after the crash
