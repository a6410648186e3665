import asyncio

from gwkit import Gw, config

from hft.core.orders import INTENT_NEW, R_QUEUE_FULL
from hft.gateway import LocalIntentChannel, TypedIntentEnvelope
from hft.gateway.intents import Decision, typed_intent_v1


def env(k, price=1000):
    return TypedIntentEnvelope(typed_intent_v1(INTENT_NEW, k, "A1", "s1", "AAA", 1, price, 1), 0)


def test_run_bounded_channel_under_burst():
    g = Gw(config(channel_capacity=64))
    svc = g.svc

    async def main():
        ch = svc.new_channel()
        task = asyncio.create_task(svc.run(ch, yield_every=8))
        offered = accepted_q = 0
        for burst in range(5):
            for i in range(200):  # burst far above capacity, without yielding
                offered += 1
                accepted_q += ch.offer(env(burst * 1000 + i, price=1000 - (i % 50)))
            assert ch.qsize() <= 64
            assert svc.channel_depth() == ch.qsize()
            await asyncio.sleep(0)  # let the consumer drain a bit
        ch.close()
        n = await asyncio.wait_for(task, 10)
        return offered, accepted_q, n, ch

    offered, queued, processed, ch = asyncio.run(main())
    assert processed == queued and ch.rejected_full == offered - queued > 0
    decisions = [r for r in g.records if isinstance(r, Decision)]
    full = [d for d in decisions if d.reason == R_QUEUE_FULL]
    assert len(full) == offered - queued and len(decisions) == offered
    assert svc.metrics_snapshot()["rejects_by_reason"]["QUEUE_FULL"] == len(full)
    assert svc.channel_depth() == 0


def test_channel_basics():
    ch = LocalIntentChannel(2)
    assert ch.offer(1) and ch.offer(2) and not ch.offer(3)
    assert ch.get_nowait() == 1 and ch.qsize() == 1
    ch.close()

    async def drain():
        out = []
        while (x := await ch.get()) is not None:
            out.append(x)
        return out

    assert asyncio.run(drain()) == [2]
