-- hft store schema, version 9: venue-native iceberg orders (issue 54). A limit / post-only order may carry its
-- displayed size (lots; hft/core/orders.py `display`, 0 on every other order: the whole size shows): the gateway's
-- decisions (the record's version 4) and the simulator's order events (version 6). Rows written before read 0 (not
-- an iceberg).

ALTER TABLE audit.gateway_decisions
    ADD COLUMN IF NOT EXISTS display Int64 DEFAULT 0 COMMENT 'an iceberg\'s displayed size, lots (0: not an iceberg, all of it shows)';

ALTER TABLE sim.orders
    ADD COLUMN IF NOT EXISTS display Int64 DEFAULT 0 COMMENT 'an iceberg\'s displayed size, lots (0: not an iceberg, all of it shows)';
