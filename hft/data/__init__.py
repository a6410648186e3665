"""Market data: importers, generator, validation, the canonical event files."""
