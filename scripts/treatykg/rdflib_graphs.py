"""The project's files as rdflib graphs, for pyshacl, the OWL 2 RL check and the rdflib engine.

The triples come from :func:`treatykg.loading.parse_file` (pyoxigraph, the single strict gate)
and are converted, never parsed again. This lives apart from :mod:`treatykg.loading` so that the
commands that need no rdflib (``query``, ``export``, ``load``...) do not import it: that takes a
tenth of a second.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pyoxigraph as ox
import rdflib
from rdflib.term import BNode, Literal, Node, URIRef

from treatykg.errors import InputError
from treatykg.loading import FileSpec, bcp47_case, files_with_graphs, parse_file
from treatykg.namespaces import PREFIXES

_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


class _LiteralWarningFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Failed to convert Literal lexical form")


@contextmanager
def quiet_literal_warnings() -> Iterator[None]:
    """Silence rdflib's logged traceback for ill-typed literals (e.g. ``"1950-13-45"^^xsd:date``).

    Such a literal is kept (``Literal.ill_typed`` is true) and reported by SHACL's
    ``sh:datatype``; the traceback rdflib logs would only frighten users.
    """
    logger = logging.getLogger("rdflib.term")
    log_filter = _LiteralWarningFilter()
    logger.addFilter(log_filter)
    try:
        yield
    finally:
        logger.removeFilter(log_filter)


def to_rdflib_term(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> Node:
    """Convert a pyoxigraph term to the equal rdflib term.

    ``xsd:string`` literals become plain literals, as rdflib's own parsers make them. Language
    tags arrive lower-cased from pyoxigraph (``zh-hans``) and get BCP 47's case back
    (``zh-Hans``, see :func:`bcp47_case`).
    """
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            if getattr(term, "direction", None):
                raise InputError(f"directional language string not supported: {term}")
            return Literal(term.value, lang=bcp47_case(term.language))
        datatype = term.datatype.value
        if datatype == _XSD_STRING:
            return Literal(term.value)
        return Literal(term.value, datatype=URIRef(datatype))
    raise InputError(f"RDF term not supported (RDF 1.2 triple terms are not): {term}")


# Why convert rather than re-parse: on a 5,005-triple Turtle file (2,734 lines, language tags,
# dates, blank nodes; median of 5 runs) pyoxigraph parse + conversion took 64-71 ms, while
# pyoxigraph parse (as the gate) + rdflib's own Turtle parse took 110-113 ms (rdflib alone
# 103 ms, pyoxigraph alone 4 ms). Converting is faster and keeps a single parser as the gate,
# so both views of a file always hold the same triples.
def _rdflib_triples(path: Path) -> Iterator[tuple[Node, Node, Node]]:
    quads = parse_file(path)
    with quiet_literal_warnings():
        try:
            for quad in quads:
                yield (
                    to_rdflib_term(quad.subject),
                    to_rdflib_term(quad.predicate),
                    to_rdflib_term(quad.object),
                )
        except InputError as error:
            raise InputError(f"{path}: {error}") from None


def _bind_prefixes(graph: rdflib.Graph) -> None:
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace, override=True, replace=True)


def load_rdflib_dataset(files: Iterable[FileSpec] | None = None) -> rdflib.Dataset:
    """Return an rdflib Dataset holding every file in its named graph.

    ``default_union`` is on: a query without ``GRAPH`` sees all graphs, as pyoxigraph's
    ``use_default_graph_as_union=True`` does.
    """
    dataset = rdflib.Dataset(default_union=True)
    _bind_prefixes(dataset)
    for path, graph in files_with_graphs(files):
        named = dataset.graph(URIRef(graph))
        for triple in _rdflib_triples(path):
            named.add(triple)
    return dataset


def merged_graph(files: Iterable[FileSpec] | None = None) -> rdflib.Graph:
    """Return one rdflib Graph with the union of all files' triples (what SHACL validates)."""
    merged = rdflib.Graph()
    _bind_prefixes(merged)
    add = merged.add
    for path, _graph in files_with_graphs(files):
        for triple in _rdflib_triples(path):
            add(triple)
    return merged
