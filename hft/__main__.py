"""``python -m hft ARGS``: the ``hft`` command, for environments where the console script is not on PATH."""

from hft.cli.app import main

if __name__ == "__main__":  # (imported, e.g. by a walk over the package's modules, it runs nothing)
    main()
