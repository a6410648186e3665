"""Strict configuration: YAML → frozen dataclasses, units parsed at load (see hft.config.strict)."""
