-- hft store schema, version 5: exact fees (issue 51). A fill's fee is exact: `fee` whole money units (the floor)
-- plus `fee_frac` millionths of a unit (0 <= fee_frac < 1e6; hft/core/money.py), so the fees of a run summed from
-- its fills equal the run's fees. Columns appended in the order of hft/recorder/topics.py (the topics' version 2);
-- rows written before read 0 (their fees were rounded to whole units).

ALTER TABLE sim.orders
    ADD COLUMN IF NOT EXISTS fee_frac Int64 DEFAULT 0 COMMENT 'millionths of a money unit beyond fee (0 <= . < 1e6)';

ALTER TABLE sim.fills
    ADD COLUMN IF NOT EXISTS fee_frac Int64 DEFAULT 0 COMMENT 'millionths of a money unit beyond fee (0 <= . < 1e6)';
