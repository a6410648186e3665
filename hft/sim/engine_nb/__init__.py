"""The numba replay engine: the market streams of `hft.sim.engine` advanced in one kernel, Python only at wakes.

`NbEngine` is a drop-in for `hft.sim.engine.Engine` (same constructor, same `run`, same `RunOutput`) that
produces the *same* outputs — decisions, orders, fills, equity series, final position / cash / fees and therefore
the same run hash — as the Python engine for the same inputs (``tests/unit/sim/test_engine_nb.py`` proves it on
generated and scripted streams, both venues, every latency / queue model, and on the goldens; both engines are
held equal to the independent `hft.sim.reference` too).

`NbEngine` does not inherit from `Engine`; neither has a base class. What both run is in modules of its own:
`hft.sim.run_setup` (the constructor, the run state, sessions), `hft.sim.run_events` (the Python side of events:
the heap, the gateway's dispatcher and sink, intents, reports, the local view, samples; what this engine runs at
its wakes) and `hft.sim.run_output` (the `RunOutput`). `NbEngine` names each rule it takes from them as it is,
and has its own `submit`, `cancel`, `replace`, `put_nowait`, `_intent`, `_push`, `_schedule_reports`, `_deliver`
and `_refresh_top` (the in-kernel order path's heap, rows and side map, the kernel's copies of the order view,
the accounting and the top), which call the shared rule where the kernel does not own the step.

Modules: `state` (wake codes, the int64 state row ``S_*``, the order-view / intent / heap layouts, the jit
decorators), `streams` (the market streams: local view, top and mark, samples, the venues' market events, the
clock's pick), `order_path` (the in-kernel order path), `loop` (the loop kernels `run_l2`, `run_l3`),
`strategy_kernels` (the strategy kernels and their registry), `logs` (the run's logs from the kernel's rows),
`buffers` (big buffers reused between runs) and `driver` (`NbEngine`, the Python side).

How the work is split
---------------------
The merged clock of `hft.sim.engine` has five prioritised streams (local market data, local order responses,
timers, exchange market data, exchange order arrivals; tie order in that module). Market data and the equity
sampler live here, in numba:

* local market data — the strategy's L2 view (`hft.book.l2_view.local_apply`; with reference rows, LOBSTER
  data with ``l3_resync`` on, `hft.book.l2_view.set_row_arrays`: the view becomes row i at local event i, in
  `run_l3`), the top-of-book snapshot at each complete message (``FLAG_EOM``) and the gateway
  mark-to-market on a touch change (the gateway's own `hft.gateway.kernels.mark` on its arena, exactly what
  `GatewayService.mark` runs);
* exchange market data — the venue's book and matching (`hft.sim.exchange_l2.step` /
  `hft.sim.exchange_l3.market_step`, the same kernels the Python venues call; on LOBSTER data the L3 venue's
  reference resync runs inside `market_step`, with the venue's reference rows as a kernel argument);
* the equity sampler (every ``sample_ns`` of local time, the timer priority).

What stays in Python (unless the in-kernel order path below is on) is what belongs to the gateway and the
strategy: the in-flight heap (commands travelling to the venue, reports travelling back, strategy timers),
`GatewayService.process` / `on_execution_report`, latency draws (their counters) and the strategy callbacks.
The kernel runs the market streams in clock order until the next heap item ``(t, prio)`` (the *bound*: ties go
to the market streams, exactly as the reference loop) or until a **wake point** — something only Python can do:

==================== =================================================================================
wake                 Python then
==================== =================================================================================
``W_BOUND``          pops the heap item (command to the venue, report to gateway and strategy, timer)
``W_BOOK``           ``strategy.on_book`` (the local book changed; only if the strategy wakes on "book")
``W_TRADE``          ``strategy.on_trade`` then, at end of message, the top refresh and ``on_book``
``W_FLAGS``          the gateway's StormGuard flags of a mark (loss / market move), then ``on_book``
``W_REPORTS``        schedules the venue reports an exchange event produced (response latency draws)
``W_*_FALLBACK``     the event needs an allocation (book growth, bigger report buffer): Python applies it
                     through the reference code path, which grows and retries
``W_INTENTS``        sends the intents a strategy kernel wrote, in order, through `GatewayService.process`
``W_EQ_FULL``        grows the equity buffer; ``W_CHUNK``: progress callback (only with a progress bar)
``W_GROW``           in-kernel order path: grows its heap / rows / order view / side map (item retried)
``W_RFLAGS``         in-kernel order path: a report tripped the gateway; its StormGuard runs (Python)
==================== =================================================================================

A strategy states what wakes it with a ``wakes`` attribute (a subset of ``("book", "trade", "order",
"timer")``); when it does not, the callbacks it overrides decide (`strategy_wakes`), so a timer-only or
order-only strategy lets the kernel run long stretches, and a strategy with no callbacks (or no strategy:
pure replay) runs the whole day in one kernel call. Reports always reach the gateway and ``on_order_update``
(through the heap); ``timer`` decides whether the strategy's timer runs at all.

Strategy kernels: a strategy with ``nb_kernel`` (a name in `STRATEGY_KERNELS`) and ``nb_params()`` has its
book callback run inside the loop as an njit kernel (`strategy_on_book`; `mm_on_book` for `mm`) that reads the
local top, the position, its parameters and its order view (`Engine.live_orders`, mirrored by the driver) and
writes intents; Python wakes only when there are intents, and sends them exactly as the Python callback would
(docs/sim.md, "Numba strategy kernel API"). ``strategy_kernels = False`` on the engine forces the callback.

On the L2 venue, exchange events that provably change nothing (a depth update away from our orders that crosses
none of them with nothing consumed; a trade no passive order of ours is at or behind) skip the venue step call.

Exchange fast-forward (L2 venue): while no order of ours rests at the venue, nothing is consumed and the
strategy wakes on no market data, the exchange items before the next heap item only move the venue's book, which
nothing reads before that item; the kernel applies them first in one tight loop. Exchange item i runs at the
venue's clock ``max(exch_ts[:i+1])`` (`hft.sim.latency.venue_times`: exchange times need not be sorted; Binance's
are not), the event matrix's row 2, as in the reference: the kernel picks, applies and stamps exchange items at
it, and uses it for the final clock and for the "data left" test of samples.

The driver calls the kernels' compiled entry point directly (`NbEngine._entry`), with the argument tuple
rebuilt only when an array is replaced (growth): the dispatcher's type resolution of ~20 arguments cost several
µs per wake.

In-kernel order path (``NbEngine.in_kernel_orders``, on when eligible): with a strategy kernel that is the
strategy's only callback (wakes exactly ``{"book"}``; ``{"book", "order"}`` for a kernel with an order rule,
`strategy_kernels.ORDER_RULE_KERNELS`), the gateway's metrics timing off and no extra record sink,
the order side runs in the loop too, on either venue (`run_l2`, `run_l3`). A second heap in numba (`heap_push_cmd` / `heap_push_rep`,
rows of time / priority / sequence / item type and a command's or a venue report's fields: `state.HEAP_*`) holds commands and reports in flight; its sequence counter is shared with the
Python heap (``st[S_SEQ]``), so items from either heap come out in the reference's ``(t, prio, seq)`` order. At
an end of message the strategy kernel's intents go through the gateway's numba core (`kernels.process_touched`:
the decision `GatewayService.process` calls, without its read-ahead) with the engine's idempotency keys, the entry
latency draw (`hft.sim.latency.latency_ns`, the same per-model draw counter) and the command pushed on the heap;
a command item runs the venue's order kernel (L2 `step`, L3 `order_step`) and schedules its reports with response
latency draws; a report item runs the
gateway's `kernels.apply_report`, the position / cash / fee accounting, the fill row and the strategy's order
view (`sord`, which is then the truth; Python rebuilds ``live_orders`` from it). Decisions, orders and fills are
int64 rows; the run's logs are built from them after the loop (the gateway's `Decision` records lazily, for
the store). Python still does what only it can: the StormGuard (``W_RFLAGS`` when a report trips it; intents at
or after the guard's next check go to Python's `process`), growth (``W_GROW``: nothing is half done, the item is
retried; on the L3 venue the kernel leaves in ``st[S_FLAGS]`` what must grow — the book's price range or order
slots, or our order table — and `L3Venue.grow` grows it), fallbacks of the market streams. Whatever Python sends meanwhile (a fallback path's intents, the
gateway's own commands) goes onto the same heap and rows, and the decision marks recorded after each kernel
call put Python's decisions back in their place. The tests run every engine pair on the same streams
(``tests/unit/sim/test_engine_nb.py``: reference, numba with and without the in-kernel path, and with buffers
that run out of room mid-call).

Several legs (`Engine.of_legs`, docs/sim.md "Several instruments"): the event matrix gains three rows, the leg of
each merged event (`EVM_LEG`), its index in that leg's own stream (`EVM_OWN`: its reference row), and the merged
index of each local event (`EVM_AT`: row 0 holds the local stream's times, whose order, each leg's own feed's, may
differ from the exchange order; the local stream reads an event's columns there, and a wake names that index); the
per-leg state is passed as tuples with one item per leg (the local views, the venues' books and arrays,
reference rows: a numba UniTuple the loop indexes by leg), rows of ``tops`` ``[legs, 8]`` and of the leg matrix
``lm`` ``[legs, LM_COLS_LEGS]`` (position, cash, fees, money factor, symbol index, the L2 live-slot bound, the
leg's `mm` memo: `streams._book_rule`, a context kernel's realised-PnL state: `streams._realized_fold`). The loop re-takes a stream's leg (`_local_leg`, `_venue_l2_leg`,
`_venue_l3_leg`) only when the next event's leg differs
from the last one of that stream, and calls the same book and venue kernels; an equity sample writes one row per
leg. One leg is the same code with tuples of one item, and its leg matrix is the state row's ``S_POS`` columns
seen as ``[1, LM_COLS]`` (the same memory), so a single-instrument run reads and writes exactly what it did (the
goldens' run hashes). Every strategy kernel runs in the loop on several legs: the built-in ones know legs (`S_LEG`:
the callback's leg, the leg column of ``sord`` and of the intents; `hedged_mm`'s two rules); a kernel from outside
sees the callback's leg only (`streams._external_on_book`: the leg's orders copied out of ``sord``, the leg's rows
of its context arrays, the venue of that leg for its queue column, each leg's realised PnL in its ``lm`` row). With
them runs the in-kernel order path: ``order_info`` holds each order's leg (``OI_LEG``), an intent's leg picks its symbol (a
cancel's: its order's), a command goes to the venue of its order's leg (the exchange stream's venue is re-taken
when it differs), a report to its leg's accounting (``lm``; the leg's money factor ``LM_MULT``), and a strategy
kernel's order rule (`report_rule_leg`: `hedged_mm`'s hedge on a fill of a quote, which its Python
``on_order_update`` runs too) runs after the report in the loop. The exchange fast-forward stays
single-instrument.

Equality with the reference rests on three facts, each checked by the tests: (1) the kernel processes market
items (and, on the in-kernel path, its own heap's items) in the reference's order and stops before any Python
heap item that the reference would pop first; (2) the Python state the kernel reads (position, cash, fees for
the equity rows) changes only at heap items, which are either Python's (the kernel stops before them) or the
kernel's own; (3) equity samples do not change any state, so moving them from the heap into the kernel (where
their order relative to a strategy timer at the same instant may differ) changes nothing.
"""

from hft.sim.engine_nb.driver import ENGINES, LazyRecords, NbEngine, strategy_wakes
from hft.sim.engine_nb.state import SK_MM, SK_NONE, WAKE_NAMES
from hft.sim.engine_nb.strategy_kernels import STRATEGY_KERNELS, mm_on_book, strategy_on_book

__all__ = ["ENGINES", "SK_MM", "SK_NONE", "STRATEGY_KERNELS", "WAKE_NAMES", "LazyRecords", "NbEngine", "mm_on_book",
           "strategy_on_book", "strategy_wakes"]
