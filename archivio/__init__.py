"""Archivio: full-text search for Italian news archives.

Everything installs inside this one package, so no name can collide with
another distribution's: the engine is `archivio.search`, the web face
`archivio.web`, the command line `archivio.cli` (`python -m archivio`).

The repository keeps the product card's layout (search/, web/, cli.py at
its root). This file exists only in a checkout: it extends the package's
path to the repository root, so that the same names import the same files
there; a wheel holds them inside the package itself (pyproject.toml's
package-dir), without this file.
"""

from pathlib import Path

__path__.append(str(Path(__file__).resolve().parent.parent))
