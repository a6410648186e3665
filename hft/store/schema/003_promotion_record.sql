-- hft store schema, version 3: the promotion record (issue 12). Every promotion step (promote, retire, canary
-- decision) stores the promotion document after the step and a hash chained to the promotion's previous step,
-- so a promotion YAML edited by hand is detected (hft/alpha/ledger.py). Columns appended in the order of
-- hft/recorder/topics.py (the topics' version 3); rows written before read the defaults (no record).

ALTER TABLE audit.alpha_promotions
    ADD COLUMN IF NOT EXISTS promotion_id String DEFAULT '' COMMENT 'YYYYMMDD/alpha_id of the promotion file',
    ADD COLUMN IF NOT EXISTS prev_hash    String DEFAULT '' COMMENT 'record_hash of the previous step of the promotion',
    ADD COLUMN IF NOT EXISTS record_hash  String DEFAULT '' COMMENT 'BLAKE2b of prev_hash and record',
    ADD COLUMN IF NOT EXISTS record       String DEFAULT '' COMMENT 'the promotion document after this step (JSON)';

ALTER TABLE audit.alpha_canary_decisions
    ADD COLUMN IF NOT EXISTS promotion_id String DEFAULT '' COMMENT 'YYYYMMDD/alpha_id of the promotion file',
    ADD COLUMN IF NOT EXISTS prev_hash    String DEFAULT '' COMMENT 'record_hash of the previous step of the promotion',
    ADD COLUMN IF NOT EXISTS record_hash  String DEFAULT '' COMMENT 'BLAKE2b of prev_hash and record',
    ADD COLUMN IF NOT EXISTS record       String DEFAULT '' COMMENT 'the promotion document after this step (JSON)';
