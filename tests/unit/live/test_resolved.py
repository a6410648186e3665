"""`hft.live.app.Resolved`: the future of a direct request's intent. The writer's `set_result` runs the front's
done-callback at once (once); a cancel (the graceful stop) runs it too and a later result is ignored; a callback
that raises is logged, not raised into the writer."""

from __future__ import annotations

import asyncio
import logging

import pytest

from hft.live.app import Resolved


def test_the_callback_runs_once_at_set_result_or_at_once_when_added_late() -> None:
    seen = []
    f = Resolved()
    f.add_done_callback(lambda x: seen.append(("early", x.result())))
    assert not f.done() and not seen
    f.set_result(7)
    f.set_result(8)  # ignored: the engine checks done() first, a second result changes nothing
    assert f.done() and not f.cancelled() and f.result() == 7 and seen == [("early", 7)]
    f.add_done_callback(lambda x: seen.append(("late", x.result())))
    assert seen[-1] == ("late", 7)


def test_a_cancel_runs_the_callback_and_a_later_result_is_ignored() -> None:
    seen = []
    f = Resolved()
    f.add_done_callback(lambda x: seen.append(x.cancelled()))
    assert f.cancel() and not f.cancel()
    f.set_result(1)
    assert seen == [True] and f.cancelled()
    with pytest.raises(asyncio.CancelledError):
        f.result()


def test_a_failing_callback_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    f = Resolved()

    def boom(_f: Resolved) -> None:
        raise RuntimeError("boom")

    f.add_done_callback(boom)
    with caplog.at_level(logging.ERROR, logger="hft.live"):
        f.set_result(None)
    assert f.done() and any("direct answer failed" in r.message for r in caplog.records)
