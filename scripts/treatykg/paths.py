"""Where the project's folders are: the only module that knows the folder tree.

In a checkout the package sits in ``scripts/treatykg`` and the data folders (``ontology/``,
``graph/``, ``shapes/``, ``queries/``) are two levels up, at the repository root. In an installed
wheel the same folders travel inside the package as ``treatykg/_data/<folder>``.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
_WHEEL_DATA_DIR = _PACKAGE_DIR / "_data"


def repo_or_data_root() -> Path:
    """Return the folder holding ``ontology/``, ``graph/``, ``shapes/`` and ``queries/``.

    ``treatykg/_data`` when it exists (an installed wheel), else the repository root.
    """
    if _WHEEL_DATA_DIR.is_dir():
        return _WHEEL_DATA_DIR
    return _PACKAGE_DIR.parents[1]


def ontology_dir() -> Path:
    """Return the folder of the vocabulary files (``ontology/``)."""
    return repo_or_data_root() / "ontology"


def graph_dir() -> Path:
    """Return the folder of the instance data (``graph/``)."""
    return repo_or_data_root() / "graph"


def shapes_dir() -> Path:
    """Return the folder of the SHACL shapes (``shapes/``)."""
    return repo_or_data_root() / "shapes"


def queries_dir() -> Path:
    """Return the folder of the stored SPARQL queries (``queries/``)."""
    return repo_or_data_root() / "queries"
