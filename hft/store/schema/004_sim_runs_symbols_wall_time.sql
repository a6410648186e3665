-- hft store schema, version 4: a simulator run's instruments and when it ran (issue 51). Columns appended in the
-- order of hft/recorder/topics.py (sim.runs version 2); rows written before read the defaults.

ALTER TABLE sim.runs
    ADD COLUMN IF NOT EXISTS symbols String DEFAULT '[]' COMMENT 'JSON list of the run''s symbols (leg order)',
    ADD COLUMN IF NOT EXISTS wall_ts DateTime64(9, 'UTC') DEFAULT 0 COMMENT 'wall-clock time the run was recorded, at its end (int ns UTC)',
    ADD COLUMN IF NOT EXISTS wall_s  Float64 DEFAULT 0 COMMENT 'wall-clock seconds the replay took';
