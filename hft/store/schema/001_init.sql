-- hft store schema, version 1: audit and simulator tables.
-- Must agree with hft/recorder/topics.py (tests/unit/store/test_store_schema.py checks it).
-- ReplacingMergeTree ordered by record_id: a record loaded twice is one row to queries (FINAL, which the
-- store's query layer applies through the `final` setting); insert dedup tokens (deduplication window)
-- make a re-inserted loader batch a no-op at insert time as well.

CREATE DATABASE IF NOT EXISTS audit;

CREATE DATABASE IF NOT EXISTS sim;

CREATE TABLE IF NOT EXISTS audit.gateway_decisions
(
    record_id     UInt128 COMMENT 'stable record id (hex(record_id) for the 32-hex-digit form)',
    ts            DateTime64(9, 'UTC') COMMENT 'event time, int ns UTC (the run clock for sim and gateway rows)',
    run_id        String COMMENT 'replay run id, empty for a live process',
    seq           UInt64 COMMENT 'decision sequence number of the gateway',
    recv_ts       DateTime64(9, 'UTC') COMMENT 'when the intent arrived',
    key           Int64 COMMENT 'idempotency key of the intent (hft.core.orders.NO_KEY when none)',
    order_id      Int64,
    target_id     Int64 COMMENT 'order a cancel / replace targets',
    price         Int64 COMMENT 'integer ticks',
    qty           Int64 COMMENT 'integer lots',
    account       Int32 COMMENT 'gateway registry index of the account',
    strategy      Int32 COMMENT 'gateway registry index of the strategy',
    symbol        Int32 COMMENT 'gateway registry index of the symbol',
    reason        Int16 COMMENT 'reason code, 0 = accepted (hft.core.orders.R_*)',
    kind          Int8 COMMENT 'intent kind: 1 new, 2 cancel, 3 replace',
    side          Int8 COMMENT '1 buy, -1 sell',
    order_type    Int8,
    tif           Int8,
    accepted      Bool COMMENT 'true when the intent passed every stage',
    duplicate     Bool COMMENT 'a repeated idempotency key',
    account_name  LowCardinality(String),
    strategy_name LowCardinality(String),
    symbol_name   LowCardinality(String),
    reason_name   LowCardinality(String) COMMENT 'name of the reason code',
    policy_state  LowCardinality(String) COMMENT 'ACTIVE | REDUCING | HALTED ...',
    details       String COMMENT 'JSON document'
)
ENGINE = ReplacingMergeTree
ORDER BY record_id
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'every gateway decision, accepted or denied';

CREATE TABLE IF NOT EXISTS audit.policy_transitions
(
    record_id  UInt128 COMMENT 'stable record id (hex(record_id) for the 32-hex-digit form)',
    ts         DateTime64(9, 'UTC') COMMENT 'event time, int ns UTC (the run clock for sim and gateway rows)',
    run_id     String,
    scope      LowCardinality(String) COMMENT 'global | account | symbol | alpha ...',
    key        String COMMENT 'what the scope applies to (account id, symbol ...)',
    from_state LowCardinality(String),
    to_state   LowCardinality(String),
    reason     String,
    actor      LowCardinality(String) COMMENT 'who or what caused it (risk limit, operator, kill switch)',
    details    String COMMENT 'JSON document'
)
ENGINE = ReplacingMergeTree
ORDER BY record_id
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'trading-state changes of the gateway policy';

CREATE TABLE IF NOT EXISTS audit.alpha_gate_decisions
(
    record_id     UInt128 COMMENT 'stable record id (hex(record_id) for the 32-hex-digit form)',
    ts            DateTime64(9, 'UTC') COMMENT 'event time, int ns UTC (the run clock for sim and gateway rows)',
    alpha_id      LowCardinality(String),
    gate          LowCardinality(String) COMMENT 'A | B | C | D | E or a gate name',
    passed        Bool,
    metric        LowCardinality(String) COMMENT 'the deciding statistic (e.g. dsr, pbo)',
    value         Float64,
    threshold     Float64,
    experiment_id String,
    code_hash     String,
    data_hash     String,
    details       String COMMENT 'JSON document (all statistics)'
)
ENGINE = ReplacingMergeTree
ORDER BY record_id
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'alpha validation / promotion gate verdicts';

CREATE TABLE IF NOT EXISTS audit.alpha_promotions
(
    record_id      UInt128 COMMENT 'stable record id (hex(record_id) for the 32-hex-digit form)',
    ts             DateTime64(9, 'UTC') COMMENT 'event time, int ns UTC (the run clock for sim and gateway rows)',
    alpha_id       LowCardinality(String),
    from_stage     LowCardinality(String),
    to_stage       LowCardinality(String),
    decision       LowCardinality(String) COMMENT 'promoted | refused | demoted | retired',
    actor          LowCardinality(String),
    promotion_file String,
    code_hash      String,
    reason         String,
    details        String COMMENT 'JSON document'
)
ENGINE = ReplacingMergeTree
ORDER BY record_id
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'alpha stage transitions';

CREATE TABLE IF NOT EXISTS audit.alpha_canary_decisions
(
    record_id UInt128 COMMENT 'stable record id (hex(record_id) for the 32-hex-digit form)',
    ts        DateTime64(9, 'UTC') COMMENT 'event time, int ns UTC (the run clock for sim and gateway rows)',
    alpha_id  LowCardinality(String),
    canary_id String,
    decision  LowCardinality(String) COMMENT 'continue | scale_up | halt | rollback | graduate',
    metric    LowCardinality(String),
    value     Float64,
    threshold Float64,
    reason    String,
    details   String COMMENT 'JSON document'
)
ENGINE = ReplacingMergeTree
ORDER BY record_id
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'canary monitoring decisions';

CREATE TABLE IF NOT EXISTS audit.alpha_experiments
(
    record_id     UInt128 COMMENT 'stable record id (hex(record_id) for the 32-hex-digit form)',
    ts            DateTime64(9, 'UTC') COMMENT 'event time, int ns UTC (the run clock for sim and gateway rows)',
    experiment_id String,
    alpha_id      LowCardinality(String),
    trial         UInt64 COMMENT 'trial number within the experiment (every trial is counted)',
    kind          LowCardinality(String) COMMENT 'validate | search | backtest ...',
    params        String COMMENT 'JSON document',
    metrics       String COMMENT 'JSON document',
    code_hash     String,
    data_hash     String,
    seed          UInt64,
    status        LowCardinality(String)
)
ENGINE = ReplacingMergeTree
ORDER BY record_id
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'the experiments registry: every trial';

CREATE TABLE IF NOT EXISTS sim.runs
(
    record_id   UInt128 COMMENT 'stable record id (hex(record_id) for the 32-hex-digit form)',
    ts          DateTime64(9, 'UTC') COMMENT 'event time, int ns UTC (the run clock for sim and gateway rows)',
    run_id      String,
    scenario    String,
    strategy    LowCardinality(String),
    seed        UInt64,
    config_hash String,
    data_hash   String,
    run_hash    String,
    status      LowCardinality(String) COMMENT 'ok | failed',
    start_ts    DateTime64(9, 'UTC'),
    end_ts      DateTime64(9, 'UTC'),
    n_events    UInt64,
    n_orders    UInt64,
    n_fills     UInt64,
    summary     String COMMENT 'JSON document (pnl, metrics)'
)
ENGINE = ReplacingMergeTree
ORDER BY record_id
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'one row per simulator run';

CREATE TABLE IF NOT EXISTS sim.orders
(
    record_id   UInt128 COMMENT 'stable record id (hex(record_id) for the 32-hex-digit form)',
    ts          DateTime64(9, 'UTC') COMMENT 'event time, int ns UTC (the run clock for sim and gateway rows)',
    run_id      String,
    source      LowCardinality(String) COMMENT 'command | report',
    order_id    Int64,
    key         Int64 COMMENT 'idempotency key of the intent',
    account     Int32,
    strategy    Int32,
    symbol      Int32 COMMENT 'gateway registry index of the symbol',
    symbol_name LowCardinality(String),
    action      Int8 COMMENT 'command action: 1 new, 2 cancel, 3 replace',
    kind        Int8 COMMENT 'report kind (hft.core.orders.REPORT_*)',
    side        Int8,
    order_type  Int8,
    tif         Int8,
    price       Int64 COMMENT 'integer ticks',
    qty         Int64 COMMENT 'integer lots',
    leaves      Int64 COMMENT 'quantity still working after a report',
    fee         Int64 COMMENT 'money units, positive = paid'
)
ENGINE = ReplacingMergeTree
ORDER BY record_id
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'order commands and execution reports of a simulator run (reproducible by replay)';

CREATE TABLE IF NOT EXISTS sim.fills
(
    record_id   UInt128 COMMENT 'stable record id (hex(record_id) for the 32-hex-digit form)',
    ts          DateTime64(9, 'UTC') COMMENT 'event time, int ns UTC (the run clock for sim and gateway rows)',
    run_id      String,
    fill_id     UInt64 COMMENT 'fill sequence number within the run',
    order_id    Int64,
    account     Int32,
    strategy    Int32,
    symbol      Int32 COMMENT 'gateway registry index of the symbol',
    symbol_name LowCardinality(String),
    kind        Int8 COMMENT 'report kind: partial_fill or fill',
    side        Int8,
    price       Int64 COMMENT 'integer ticks',
    qty         Int64 COMMENT 'integer lots filled',
    leaves      Int64 COMMENT 'quantity still working',
    liquidity   Int8 COMMENT '1 maker, -1 taker, 0 unknown',
    fee         Int64 COMMENT 'money units, positive = paid',
    exch_ts     DateTime64(9, 'UTC') COMMENT 'exchange time of the fill'
)
ENGINE = ReplacingMergeTree
ORDER BY record_id
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'fills of a simulator run (reproducible by replay)';
