"""`python -m artstyle` runs the `artstyle` command."""

from artstyle.cli import main

main()
