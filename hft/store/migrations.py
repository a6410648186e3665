"""Versioned schema migrations: ``hft/store/schema/NNN_name.sql``, applied once each, in order.

Applied versions are recorded in ``hft_meta.schema_migrations`` (version, name, sha256 of the statements). Every
statement is idempotent (``IF NOT EXISTS``), so a migration interrupted half-way is simply applied again.
A file whose statements changed after it was applied is an error: ship a new migration instead.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

from hft.core.errors import StoreError
from hft.store.backend import StoreBackend

_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")
META_DDL = (
    "CREATE DATABASE IF NOT EXISTS hft_meta",
    "CREATE TABLE IF NOT EXISTS hft_meta.schema_migrations (version UInt32, name String, checksum String, "
    "applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) ENGINE = ReplacingMergeTree ORDER BY version",
)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        """sha256 of the statements with comments dropped and whitespace collapsed (comment edits are fine)."""
        return hashlib.sha256(";\n".join(" ".join(s.split()) for s in self.statements()).encode()).hexdigest()

    def statements(self) -> list[str]:
        """Statements of the file (split on ';' at line ends; comments dropped)."""
        lines = [ln for ln in self.sql.splitlines() if not ln.lstrip().startswith("--")]
        parts = (s.strip().rstrip(";").strip() for s in "\n".join(lines).split(";\n"))
        return [p for p in parts if p]


def available() -> list[Migration]:
    out = []
    for entry in resources.files("hft.store.schema").iterdir():
        m = _NAME.match(entry.name)
        if m:
            out.append(Migration(int(m.group(1)), m.group(2), entry.read_text()))
    out.sort(key=lambda x: x.version)
    versions = [m.version for m in out]
    if len(set(versions)) != len(versions):
        raise StoreError(f"schema migrations: expected unique versions, were {versions}")
    return out


def latest_version() -> int:
    ms = available()
    return ms[-1].version if ms else 0


def applied(backend: StoreBackend) -> dict[int, str]:
    """version -> checksum of the applied migrations (creates the bookkeeping table if missing)."""
    for ddl in META_DDL:
        backend.execute(ddl)
    res = backend.query("SELECT version, checksum FROM hft_meta.schema_migrations FINAL ORDER BY version")
    return {int(v): c for v, c in res.rows}


def migrate(backend: StoreBackend) -> int:
    """Apply the missing migrations; returns the schema version now in force."""
    done = applied(backend)
    version = 0
    for mig in available():
        if mig.version in done:
            if done[mig.version] != mig.checksum:
                raise StoreError(
                    f"schema migration {mig.version:03d}_{mig.name}: expected checksum {done[mig.version][:12]} "
                    f"(as applied), was {mig.checksum[:12]}",
                    hint="never edit an applied migration; add a new NNN_name.sql instead",
                    version=mig.version)
        else:
            for stmt in mig.statements():
                backend.execute(stmt)
            backend.execute(
                "INSERT INTO hft_meta.schema_migrations (version, name, checksum) VALUES "
                f"({mig.version}, '{mig.name}', '{mig.checksum}')")
        version = mig.version
    return version
