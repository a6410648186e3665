"""Research computation: features from replayed books, statistics, signal combination, per-day features, plots."""
