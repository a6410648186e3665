"""Prometheus metrics of the live service's HTTP and ingress layers, added to the gateway's own registry.

  gateway_ingress_total{result}           accepted / soft_rejected / killed (intake admission)
  gateway_ingress_queue_depth, _capacity, _utilisation_pct, gateway_kill_switch (1 = killed),
  gateway_kill_switch_trips_total, gateway_kill_switch_recoveries_total
  gateway_ack_latency_ns{path}            histogram: receipt to answer released (volatile / durable);
  gateway_ack_latency_{p50,p99}_ns{path}  the upper bound (2**k - 1) of its log2 bucket holding that quantile since
                                          start: coarse (a factor 2), for a glance at the text exposition
  gateway_http_stage_latency_ns{stage}    parse, enqueue, serialize; gateway_live_stage_latency_ns{stage}:
                                          decide (the batch through process_batch()), wal (append + fsync), dispatch
  gateway_http_responses_total{status}, gateway_bad_input_total{field}, gateway_wal_failures_total,
  gateway_snapshots_total, gateway_snapshot_failures_total  (a failed snapshot: counted, retried; trading goes on)
  gateway_wal_disk_level                  the WAL disk monitor's level: 0 NORMAL .. 3 HALT
  gateway_wal_backlog_records, _bytes     the service's WAL not yet loaded into the store (`hft audit load`)
  gateway_wal_replay_lag_seconds          age of the oldest frame not yet loaded (0 when none)
  gateway_wal_load_rows_per_second        the last load's throughput; gateway_wal_drain_eta_seconds: backlog / it
                                          (absent while records wait and no load has run)
"""

from __future__ import annotations

import time
from typing import Any

from hft.recorder.loader import WalBacklog, backlog_totals

#: the WAL backlog is walked at most this often (scrapes in between answer the last walk)
BACKLOG_EVERY_S = 1.0


class LiveCollector:
    """Reads the engine's and the app's counters at scrape time (nothing on the hot path)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._backlog = WalBacklog(app.live.wal.wal_dir)
        self._backlog_at = -BACKLOG_EVERY_S
        self._backlog_last: dict[str, Any] = {}

    def backlog(self) -> dict[str, Any]:
        """The WAL's backlog (`hft.recorder.loader.backlog_totals`), walked at most every `BACKLOG_EVERY_S`."""
        now = time.monotonic()
        if now - self._backlog_at >= BACKLOG_EVERY_S:
            self._backlog_last = backlog_totals([(self._backlog.wal_dir, self._backlog.refresh())])
            self._backlog_at = now
        return self._backlog_last

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

        app = self.app
        live = app.live
        p = live.pressure
        depth = live.channel.qsize()
        c = CounterMetricFamily("gateway_ingress", "intake admission results", labels=["result"])
        c.add_metric(["accepted"], p.accepted)
        c.add_metric(["soft_rejected"], p.soft_rejected)
        c.add_metric(["killed"], p.killed_rejects)
        yield c
        yield GaugeMetricFamily("gateway_ingress_queue_depth", "intents waiting in the intake channel", value=depth)
        yield GaugeMetricFamily("gateway_ingress_queue_capacity", "intake channel capacity", value=p.capacity)
        yield GaugeMetricFamily("gateway_ingress_utilisation_pct", "intake channel utilisation (%)",
                                value=p.utilisation(depth))
        yield GaugeMetricFamily("gateway_kill_switch", "1 while the kill switch holds", value=int(p.killed))
        yield GaugeMetricFamily("gateway_revoked_tokens", "token ids on the deny-list (POST /admin/tokens/revoke; "
                                "dropped once their token expired)", value=len(live.revoked))
        yield CounterMetricFamily("gateway_kill_switch_trips", "kill switch trips", value=p.kills)
        yield CounterMetricFamily("gateway_kill_switch_recoveries", "kill switch recoveries", value=p.recoveries)
        yield CounterMetricFamily("gateway_wal_failures", "steps whose records the WAL refused",
                                  value=live.wal_failures)
        yield CounterMetricFamily("gateway_snapshot_failures", "state snapshots that failed (trading went on)",
                                  value=live.snapshot_failures)
        yield CounterMetricFamily("gateway_snapshots", "state snapshots installed", value=live.snapshots)
        if live.monitor is not None:
            yield GaugeMetricFamily("gateway_wal_disk_level", "the WAL disk's pressure level (0 normal, 1 warning, "
                                    "2 critical, 3 halt; thresholds $HFT_DISK_THRESHOLDS)",
                                    value=int(live.monitor.level))
        bl = self.backlog()
        yield GaugeMetricFamily("gateway_wal_backlog_records", "WAL records not yet loaded into the store",
                                value=bl["records"])
        yield GaugeMetricFamily("gateway_wal_backlog_bytes", "WAL bytes not yet loaded into the store",
                                value=bl["bytes"])
        yield GaugeMetricFamily("gateway_wal_replay_lag_seconds", "age of the oldest WAL frame not yet loaded "
                                "(0 when none)", value=bl["lag_s"])
        if bl["last_rows_per_s"] is not None:
            yield GaugeMetricFamily("gateway_wal_load_rows_per_second", "the last load's throughput (rows/s)",
                                    value=bl["last_rows_per_s"])
        if bl["eta_s"] is not None:
            yield GaugeMetricFamily("gateway_wal_drain_eta_seconds", "the backlog over the last load's throughput",
                                    value=bl["eta_s"])

        def hist(fam: HistogramMetricFamily, label: str, h: Any) -> None:
            fam.add_metric([label], h.cumulative(), float(h.total))

        f = HistogramMetricFamily("gateway_ack_latency_ns", "receipt to answer (ns)", labels=["path"])
        hist(f, "volatile", live.ack_volatile)
        hist(f, "durable", live.ack_durable)
        yield f
        f = HistogramMetricFamily("gateway_http_stage_latency_ns", "HTTP layer stages (ns)", labels=["stage"])
        for s, h in app.stage.items():
            hist(f, s, h)
        yield f
        f = HistogramMetricFamily("gateway_live_stage_latency_ns", "writer stages per batch (ns)", labels=["stage"])
        for s, h in live.stage.items():
            hist(f, s, h)
        yield f
        for name, q in (("p50", 0.5), ("p99", 0.99)):
            g = GaugeMetricFamily(f"gateway_ack_latency_{name}_ns", f"upper bound 2**k - 1 ns of the log2 bucket "
                                  f"holding the ack latency's {name} since start, by path (not a quantile of a "
                                  f"window: histogram_quantile over gateway_ack_latency_ns_bucket is)", labels=["path"])
            g.add_metric(["volatile"], live.ack_volatile.quantile(q))
            g.add_metric(["durable"], live.ack_durable.quantile(q))
            yield g
        c = CounterMetricFamily("gateway_http_responses", "HTTP responses by status", labels=["status"])
        for st, n in sorted(app.status_counts.items()):
            c.add_metric([str(st)], n)
        yield c
        c = CounterMetricFamily("gateway_bad_input", "requests refused as bad input, by field", labels=["field"])
        for fld, n in sorted(app.bad_input.items()):
            c.add_metric([fld], n)
        yield c
