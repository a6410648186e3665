"""Run the real `hft` entry point with the audit/store sub-apps attached (until the lead wires them in app.py).

Used by the CLI tests as ``python _cli_entry.py audit query ...``.
"""

import sys

from hft.cli import app as root
from hft.cli import audit, store

_names = {g.name for g in root.app.registered_groups}
if "audit" not in _names:
    root.app.add_typer(audit.app, name="audit")
if "store" not in _names:
    root.app.add_typer(store.app, name="store")

if __name__ == "__main__":
    sys.exit(root.main(sys.argv[1:]))
