"""``python -m hft ARGS``: the ``hft`` command, for environments where the console script is not on PATH."""

from hft.cli.app import main

main()
