-- hft store schema, version 10: venue-native trailing stops (issue 54). A stop / stop-limit may carry its trailing
-- distance (ticks; hft/core/orders.py `trail`, 0 on every other order: not trailing): the gateway's decisions (the
-- record's version 5) and the simulator's order events (version 7). Rows written before read 0 (not trailing).

ALTER TABLE audit.gateway_decisions
    ADD COLUMN IF NOT EXISTS trail Int64 DEFAULT 0 COMMENT 'a trailing stop\'s distance from the best print since entry, ticks (0: not trailing)';

ALTER TABLE sim.orders
    ADD COLUMN IF NOT EXISTS trail Int64 DEFAULT 0 COMMENT 'a trailing stop\'s distance from the best print since entry, ticks (0: not trailing)';
