"""The ClickHouse store: embedded chDB (default) or a server via clickhouse-connect (HFT_CLICKHOUSE_URL).

Heavy libraries are imported only when a store is opened; see :func:`hft.store.store.open_store`.
"""
