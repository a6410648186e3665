"""The WAL-first recorder: writer (wal_first), disk-pressure monitor, and the loader into the store."""
