"""Alpha research and governance: Alpha API, features, statistics, validation gates, pool, promotion."""
