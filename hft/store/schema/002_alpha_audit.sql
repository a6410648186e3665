-- hft store schema, version 2: alpha governance audit columns (issue 6 / 7).
-- Columns are only ever appended, in the order of hft/recorder/topics.py (the topics' version 2); rows written
-- before this migration read the defaults. Every statement is idempotent (ADD COLUMN IF NOT EXISTS).

ALTER TABLE audit.alpha_gate_decisions
    ADD COLUMN IF NOT EXISTS version    LowCardinality(String) DEFAULT '' COMMENT 'alpha version',
    ADD COLUMN IF NOT EXISTS run_id     String DEFAULT '' COMMENT 'validate / promote run id',
    ADD COLUMN IF NOT EXISTS thresholds String DEFAULT '{}' COMMENT 'JSON document (every threshold in force)',
    ADD COLUMN IF NOT EXISTS reasons    String DEFAULT '[]' COMMENT 'JSON list of reasons (why it failed, or notes)',
    ADD COLUMN IF NOT EXISTS host       LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS user       LowCardinality(String) DEFAULT '';

ALTER TABLE audit.alpha_promotions
    ADD COLUMN IF NOT EXISTS version       LowCardinality(String) DEFAULT '' COMMENT 'alpha version',
    ADD COLUMN IF NOT EXISTS data_hash     String DEFAULT '',
    ADD COLUMN IF NOT EXISTS experiment_id String DEFAULT '',
    ADD COLUMN IF NOT EXISTS run_id        String DEFAULT '' COMMENT 'gate D replay run id',
    ADD COLUMN IF NOT EXISTS reasons       String DEFAULT '[]' COMMENT 'JSON list of reasons',
    ADD COLUMN IF NOT EXISTS approvers     String DEFAULT '[]' COMMENT 'JSON list of approvers',
    ADD COLUMN IF NOT EXISTS forced        Bool DEFAULT false COMMENT 'refused gates overridden with --force --reason',
    ADD COLUMN IF NOT EXISTS host          LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS user          LowCardinality(String) DEFAULT '';

ALTER TABLE audit.alpha_canary_decisions
    ADD COLUMN IF NOT EXISTS version    LowCardinality(String) DEFAULT '' COMMENT 'alpha version',
    ADD COLUMN IF NOT EXISTS code_hash  String DEFAULT '',
    ADD COLUMN IF NOT EXISTS from_state LowCardinality(String) DEFAULT '' COMMENT 'lifecycle state before the decision',
    ADD COLUMN IF NOT EXISTS to_state   LowCardinality(String) DEFAULT '' COMMENT 'lifecycle state after the decision',
    ADD COLUMN IF NOT EXISTS reasons    String DEFAULT '[]' COMMENT 'JSON list of reasons',
    ADD COLUMN IF NOT EXISTS run_id     String DEFAULT '' COMMENT 'observations run id',
    ADD COLUMN IF NOT EXISTS host       LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS user       LowCardinality(String) DEFAULT '';

ALTER TABLE audit.alpha_canary_decisions
    COMMENT COLUMN decision 'hold | escalate | rollback | graduate ...';

ALTER TABLE audit.alpha_experiments
    ADD COLUMN IF NOT EXISTS family      LowCardinality(String) DEFAULT '' COMMENT 'alpha family: trials of one family are counted together for DSR / PBO',
    ADD COLUMN IF NOT EXISTS version     LowCardinality(String) DEFAULT '' COMMENT 'alpha version',
    ADD COLUMN IF NOT EXISTS host        LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS user        LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS started_ts  DateTime64(9, 'UTC') DEFAULT 0 COMMENT 'trial start, int ns UTC',
    ADD COLUMN IF NOT EXISTS finished_ts DateTime64(9, 'UTC') DEFAULT 0 COMMENT 'trial end, int ns UTC';
