-- hft store schema, version 11: venue-native OCO and bracket orders (issue 54). A new order may name the order it is
-- paired with (`oco`: one cancels the other) and a bracket child its entry (`parent`); both gateway order ids, 0 on
-- every other order (hft/core/orders.py): the gateway's decisions (the record's version 6) and the simulator's order
-- events (version 8). Rows written before read 0 (no link).

ALTER TABLE audit.gateway_decisions
    ADD COLUMN IF NOT EXISTS oco Int64 DEFAULT 0 COMMENT 'the gateway order id of the order this one is paired with, one cancels the other (0: none)';

ALTER TABLE audit.gateway_decisions
    ADD COLUMN IF NOT EXISTS parent Int64 DEFAULT 0 COMMENT 'a bracket child\'s entry: the gateway order id of its parent (0: none)';

ALTER TABLE sim.orders
    ADD COLUMN IF NOT EXISTS oco Int64 DEFAULT 0 COMMENT 'the gateway order id of the order this one is paired with, one cancels the other (0: none)';

ALTER TABLE sim.orders
    ADD COLUMN IF NOT EXISTS parent Int64 DEFAULT 0 COMMENT 'a bracket child\'s entry: the gateway order id of its parent (0: none)';
