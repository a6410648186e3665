-- hft store schema, version 8: good-till-date orders (issue 54). A GTD order carries its expiry time (int ns UTC;
-- hft/core/orders.py `expire`, 0 on every other order): the gateway's decisions (the record's version 3) and the
-- simulator's order events (version 5). Rows written before read 0 (no expiry).

ALTER TABLE audit.gateway_decisions
    ADD COLUMN IF NOT EXISTS expire DateTime64(9, 'UTC') DEFAULT 0 COMMENT 'a GTD order\'s expiry time, int ns UTC (0: none)';

ALTER TABLE sim.orders
    ADD COLUMN IF NOT EXISTS expire DateTime64(9, 'UTC') DEFAULT 0 COMMENT 'a GTD order\'s expiry time, int ns UTC (0: none)';
