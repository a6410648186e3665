"""The `hft` command line: thin commands over services (see hft.cli.app)."""
