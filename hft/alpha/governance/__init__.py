"""The governance commands' logic: validate, pool, promote, canary, status, and the lifecycle and promotion files."""
