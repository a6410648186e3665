"""Order ids are never given twice over the life of a WAL: the rule of id blocks reserved ahead of use.

A `/v3` (volatile) answer is released on the in-memory decision, before the WAL holds it, so a SIGKILL can lose
the decision of an order id a client already holds; the replay after the restart would then give that id to the
next order. So the writer records in the WAL, before any id of a block is answered, that ids up to a mark may
have been answered (journal source ``ids:reserve``, the mark in ``order_id``): a step whose decisions reach past
the mark first appends a new one, ``BLOCK`` ids beyond its highest id, written (and synced under ``fsync:
batch``) before any of the step's answers. A restart starts the counter above the newest mark and records where
it started (``ids:start``, the first id in ``order_id``), so the next replay makes the same jump at the same
place. A clean stop, once the writer has drained and the WAL holds every decision, lowers the mark to the highest
id given (no gap after a clean restart).

So ids are unique for the life of the WAL; after a crash the ids up to the mark are skipped, rounded up to whole
turns of the order table (`first_after_restart`: its rows stay in use oldest first). Applied by `hft.live.engine.LiveGateway` (`reserve_ids`, `start_ids`,
`release_ids`, `replay_ids`), replayed by `hft.live.recovery`, kept in its snapshots (`hft.live.snapshot`).
"""

from __future__ import annotations

BLOCK = 4096  # ids reserved at a time: one WAL record per 4,096 orders
RESERVE = "ids:reserve"  # the journal's source: ids up to `order_id` may have been answered
START = "ids:start"  # the journal's source: after a restart the counter starts at `order_id`
SOURCES = (RESERVE, START)


def due(next_id: int, reserved: int) -> int:
    """The mark to reserve before answering ids below `next_id` (the counter after a step), given the ids
    `reserved` so far; 0 when they are covered."""
    hi = next_id - 1
    return hi + BLOCK if hi > reserved else 0


def first_after_restart(next_id: int, reserved: int, table: int) -> int:
    """The first id a restarted service gives: the replayed counter, or, when an id up to the mark may have been
    answered before the crash (its decision lost), the first id above the mark that takes the same row of the
    order table (`table` rows, `GatewayService.order_table_size`) as the replayed counter: the ids skipped are
    whole turns of the table, so new orders reuse its rows oldest first as they would have without the crash
    (a jump of any other size lands on rows of orders still working: ORDER_TABLE_FULL)."""
    if next_id > reserved:
        return next_id
    return next_id + -(-(reserved + 1 - next_id) // table) * table


def replayed(source: str, mark: int, next_id: int, reserved: int) -> tuple[int, int]:
    """(next id, reserved) after a recorded ``ids:*`` record."""
    if source == RESERVE:
        return next_id, mark
    if source == START:
        return max(next_id, mark), max(reserved, mark - 1)
    raise ValueError(f"order ids: expected a source of {SOURCES}, was {source!r}")
