"""`python -m edgekit.cli`."""

from edgekit.cli.app import main

main()
