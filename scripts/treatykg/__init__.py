"""treatykg: a linked-open-data knowledge graph of the 1950 Sino-Soviet treaty."""

__version__ = "0.1.0"
