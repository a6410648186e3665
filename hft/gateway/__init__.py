"""The order gateway: every order intent passes here before it reaches a venue (live or simulated).

Pipeline per intent (``GatewayService.process``):
  1. dedup (idempotency key → the original decision)   2. policy gate (ALLOW_ALL / CANCEL_ONLY / REJECT_ALL)
  3. exposure incl. working orders (reserve)           4. risk (numba core; a reject releases step 3)
  5. OrderCommand                                       6. dedup commit                  7. dispatch
Steps 1-4 and 6 run in ONE numba call over a single int64 arena (`kernels.process_one`; `process_batch` for
arrays); `process` unpacks the envelope, builds step 5 and the `Decision`, and dispatches (step 7) in Python. Every intent yields a `Decision` (accepted or not, reason code); denials are
events, not exceptions.

Public API (see docs/gateway.md for the full reference and the five-gate design review)::

    from hft.core.clock import ManualClock
    from hft.core.orders import BUY, INTENT_NEW, ORDER_LIMIT, TIF_GTC, REPORT_FILL
    from hft.gateway import GatewayService, ExecutionReport, typed_intent_v1, TypedIntentEnvelope

    clock = ManualClock(0)
    gw = GatewayService.from_config("config/gateway.yaml", clock=clock,
                                    dispatcher=venue_queue,      # any object with put_nowait(cmd)
                                    sink=recorder.append)        # gets every Decision / PolicyTransition
    gw.mark("AAPL", 10_000)                                      # reference price (ticks)
    d = gw.process(TypedIntentEnvelope(
        typed_intent_v1(INTENT_NEW, 42, "ACC1", "mm1", "AAPL", BUY, 10_000, 5), recv_ns=clock.now_ns()))
    d.accepted, d.reason_name, d.order_id, d.command               # -> True, 'OK', 1, OrderCommand(...)
    gw.on_execution_report(ExecutionReport(ts=clock.now_ns(), order_id=d.order_id, kind=REPORT_FILL, price=10_000, qty=5, leaves=0))
    decisions = gw.process_batch(intents)                        # INTENT_DTYPE array -> DECISION_DTYPE array
    gw.kill("operator"); gw.reset("operator")                    # kill switch / back to normal
    gw.metrics_snapshot(); gw.metrics_text()                     # dict / Prometheus text

Construction: ``GatewayService.from_config(path | GatewayConfig | None, *, clock, env=None, dispatcher=None,
sink=None, batch_sink=None, timer=None, order_id_start=1)``; ``start()`` loads / ``shutdown()`` persists the
dedup window. Live: ``ch = gw.new_channel(); task = asyncio.create_task(gw.run(ch)); ch.offer(envelope)``.

Importing this package is cheap: names are loaded on first access (numba only with the service).
"""

from __future__ import annotations

from hft.core.exports import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "GatewayService": "hft.gateway.service",
    "ListDispatcher": "hft.gateway.service",
    "GatewayConfig": "hft.gateway.config",
    "LimitSet": "hft.gateway.config",
    "Rate": "hft.gateway.config",
    "load_config": "hft.gateway.config",
    "OrderIntent": "hft.gateway.intents",
    "IntentEnvelope": "hft.gateway.intents",
    "TypedIntentEnvelope": "hft.gateway.intents",
    "typed_intent_v1": "hft.gateway.intents",
    "Decision": "hft.gateway.intents",
    "OrderCommand": "hft.gateway.intents",
    "ExecutionReport": "hft.gateway.intents",
    "empty_intents": "hft.gateway.intents",
    "LocalIntentChannel": "hft.gateway.channel",
    "PolicyTransition": "hft.gateway.policy",
    "RiskCheck": "hft.gateway.risk_checks",
    "BUY": "hft.core.orders",
    "SELL": "hft.core.orders",
    "INTENT_NEW": "hft.core.orders",
    "INTENT_CANCEL": "hft.core.orders",
    "INTENT_REPLACE": "hft.core.orders",
    "ORDER_LIMIT": "hft.core.orders",
    "ORDER_MARKET": "hft.core.orders",
    "ORDER_POST_ONLY": "hft.core.orders",
    "ORDER_STOP": "hft.core.orders",
    "ORDER_STOP_LIMIT": "hft.core.orders",
    "TIF_GTC": "hft.core.orders",
    "TIF_IOC": "hft.core.orders",
    "TIF_FOK": "hft.core.orders",
    "TIF_DAY": "hft.core.orders",
    "TIF_GTD": "hft.core.orders",
    "REPORT_ACK": "hft.core.orders",
    "REPORT_PARTIAL_FILL": "hft.core.orders",
    "REPORT_FILL": "hft.core.orders",
    "REPORT_CANCELED": "hft.core.orders",
    "REPORT_REJECTED": "hft.core.orders",
    "REPORT_EXPIRED": "hft.core.orders",
    "REPORT_REPLACED": "hft.core.orders",
    "REPORT_REPLACE_REJECTED": "hft.core.orders",
    "REPORT_CANCEL_REJECTED": "hft.core.orders",
    "REPORT_TRIGGERED": "hft.core.orders",
    "MODE_ALLOW_ALL": "hft.core.orders",
    "MODE_CANCEL_ONLY": "hft.core.orders",
    "MODE_REJECT_ALL": "hft.core.orders",
    "INTENT_DTYPE": "hft.core.orders",
    "DECISION_DTYPE": "hft.core.orders",
    "COMMAND_DTYPE": "hft.core.orders",
    "EXEC_REPORT_DTYPE": "hft.core.orders",
})
