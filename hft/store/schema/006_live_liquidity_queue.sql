-- hft store schema, version 6: what a live venue says beyond the execution report (issue 54). The live service's
-- journal of reports (sim.orders, source 'report') keeps a fill's liquidity (hft.core.orders.LIQ_*: 1 maker,
-- 2 taker, 0 not said) and an ACK's queue ahead at entry (lots; -1 not said), so that a restart shows them as they
-- came. Columns appended in the order of hft/recorder/topics.py (sim.orders version 3); rows written before read
-- the defaults (not said).

ALTER TABLE sim.orders
    ADD COLUMN IF NOT EXISTS liquidity Int8 DEFAULT 0 COMMENT 'of a fill: maker or taker (hft.core.orders.LIQ_*)';

ALTER TABLE sim.orders
    ADD COLUMN IF NOT EXISTS queue Int64 DEFAULT -1 COMMENT 'an ACK''s queue ahead at entry once the order rests (exact on L3, the displayed level on L2); -1 on every other report and when the order never rested';
