"""`python -m archivio`: the command line (cli.py).

At the repository root because the root is the `archivio` package's folder
in a wheel (pyproject.toml's package-dir); in a checkout archivio/__init__.py
reaches it.
"""

from archivio.cli import main

main()
