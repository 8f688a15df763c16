"""IRIs and prefixes of treatykg and of the vocabularies it uses."""

from __future__ import annotations

import re

BASE = "https://w3id.org/treatykg/"
TKG_NS = BASE + "ontology#"
"""Namespace of the treatykg vocabulary (``TKG``, an rdflib ``Namespace``, makes its terms)."""
ID = BASE + "id/"
"""Base of the IRIs of things described by the graph."""
GRAPH = BASE + "graph/"
"""Base of the named graphs, one per source (see ``treatykg.loading.graph_name_for``)."""
SH_NS = BASE + "shapes#"
"""Namespace of the SHACL shapes."""
WD = "http://www.wikidata.org/entity/"
WDT = "http://www.wikidata.org/prop/direct/"

PREFIXES: dict[str, str] = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "prov": "http://www.w3.org/ns/prov#",
    "schema": "https://schema.org/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "dcterms": "http://purl.org/dc/terms/",
    "geo": "http://www.w3.org/2003/01/geo/wgs84_pos#",
    "org": "http://www.w3.org/ns/org#",
    "void": "http://rdfs.org/ns/void#",
    "sh": "http://www.w3.org/ns/shacl#",
    "tkg": TKG_NS,
    "tkgsh": SH_NS,
    "wd": WD,
    "wdt": WDT,
}
"""Prefixes for pretty output (Turtle serialisations, prefixed names in messages)."""


def prefixed_name(iri: str) -> str:
    """Return ``prefix:local`` for an IRI in a known namespace, else ``<iri>``.

    >>> prefixed_name("https://w3id.org/treatykg/ontology#Treaty")
    'tkg:Treaty'
    >>> prefixed_name("https://example.org/x")
    '<https://example.org/x>'
    """
    best = ""
    best_prefix = ""
    for prefix, namespace in PREFIXES.items():
        if iri.startswith(namespace) and len(namespace) > len(best):
            best, best_prefix = namespace, prefix
    local = iri[len(best) :]
    # Only the simple local names that Turtle accepts unescaped.
    if best and _SIMPLE_LOCAL.fullmatch(local):
        return f"{best_prefix}:{local}"
    return f"<{iri}>"


_SIMPLE_LOCAL = re.compile(r"(?!-)[\w-]+")
"""Letters, digits (``str.isalnum``), ``_`` and ``-``, not first: a report of a million results
calls :func:`prefixed_name` three million times, and a loop over the characters took 10 µs."""


def __getattr__(name: str) -> object:
    # TKG, the treatykg vocabulary as an rdflib Namespace (TKG.Treaty is an rdflib URIRef), is
    # made on first use: importing rdflib takes a tenth of a second, and the commands that need
    # none (query, export, load...) import this module too.
    if name == "TKG":
        from rdflib import Namespace

        globals()["TKG"] = namespace = Namespace(TKG_NS)
        return namespace
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
