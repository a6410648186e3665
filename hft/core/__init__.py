"""Core types shared by every layer: dtypes, units, clock, ids, errors. No heavy imports here."""
