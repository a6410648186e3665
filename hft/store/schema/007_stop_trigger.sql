-- hft store schema, version 7: venue-native stops (issue 54). A stop / stop-limit carries its trigger price (ticks;
-- hft/core/orders.py `trigger`, 0 on every other order): the gateway's decisions (the record's version 2) and the
-- simulator's order events (version 4). Rows written before read 0 (no stop).

ALTER TABLE audit.gateway_decisions
    ADD COLUMN IF NOT EXISTS trigger Int64 DEFAULT 0 COMMENT 'a stop\'s trigger price, integer ticks (0: none)';

ALTER TABLE sim.orders
    ADD COLUMN IF NOT EXISTS trigger Int64 DEFAULT 0 COMMENT 'a stop\'s trigger price, integer ticks (0: none)';
