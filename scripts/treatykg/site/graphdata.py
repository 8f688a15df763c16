"""What the site shows, read from the graph: entities, their facts with sources and ranks, claims.

Everything is read once from the quads of the embedded store (a few thousand), then indexed in
Python: one pass is faster and simpler than a SPARQL query per page.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import unquote

import pyoxigraph as ox

from treatykg.loading import bcp47_case
from treatykg.namespaces import BASE, GRAPH, ID, PREFIXES, TKG_NS, prefixed_name

RDF = PREFIXES["rdf"]
RDFS = PREFIXES["rdfs"]
SKOS = PREFIXES["skos"]
DCT = PREFIXES["dcterms"]
XSD = PREFIXES["xsd"]
GEO = PREFIXES["geo"]
SCHEMA = PREFIXES["schema"]
FOAF = PREFIXES["foaf"]
T = TKG_NS

TYPE = RDF + "type"
LABEL = RDFS + "label"
ALT_LABEL = SKOS + "altLabel"
DESCRIPTION = DCT + "description"
WIKIDATA_ITEM = T + "wikidataItem"
WIKIPEDIA_PAGE = T + "wikipediaPage"
COMMONS_FILE = T + "commonsFileName"
GRAPH_SOURCE = T + "graphSource"

LANGUAGE_ORDER = ("en", "zh-Hans", "zh-Hant", "ru")
"""The languages of labels, in the order pages show them (docs/model.md)."""
LANGUAGE_NAMES = {
    "en": "English",
    "zh-Hans": "Chinese (simplified)",
    "zh-Hant": "Chinese (traditional)",
    "ru": "Russian",
}

# Shown in their own places on a page (title, names, links), not among the facts.
NOT_FACTS = {TYPE, LABEL, ALT_LABEL, DESCRIPTION, WIKIDATA_ITEM, WIKIPEDIA_PAGE, COMMONS_FILE}

PROPERTY_NAMES = {
    LABEL: "name",
    ALT_LABEL: "other name",
    DESCRIPTION: "description",
    DCT + "title": "title",
    DCT + "type": "type",
    DCT + "date": "date",
    DCT + "creator": "creator",
    DCT + "license": "licence",
    DCT + "source": "source",
    DCT + "issued": "issued",
    DCT + "created": "created",
    DCT + "publisher": "publisher",
    DCT + "bibliographicCitation": "citation",
    SCHEMA + "url": "web page",
    SCHEMA + "name": "name",
    SCHEMA + "creator": "creator",
    FOAF + "page": "web page",
    GEO + "lat": "latitude",
    GEO + "long": "longitude",
    SKOS + "definition": "definition",
    SKOS + "inScheme": "in scheme",
    SKOS + "topConceptOf": "top concept of",
    SKOS + "hasTopConcept": "top concept",
    SKOS + "closeMatch": "close match",
    RDFS + "seeAlso": "see also",
    TYPE: "class",
    SKOS + "Concept": "concept",
    PREFIXES["void"] + "exampleResource": "example resource",
    PREFIXES["void"] + "rootResource": "root resource",
    SKOS + "ConceptScheme": "concept scheme",
    PREFIXES["void"] + "Dataset": "dataset",
    PREFIXES["owl"] + "differentFrom": "different from",
    PREFIXES["prov"] + "wasDerivedFrom": "derived from",
}
"""Readable names of the properties of other vocabularies (the vocabulary's own have labels)."""

DATE_PROPERTIES = (T + "date", T + "startDate", T + "endDate")

RANKS = {
    T + "PreferredRank": "preferred",
    T + "NormalRank": "normal",
    T + "DeprecatedRank": "deprecated",
}

# Which facts a page lists first; the rest follow in the order of their labels.
FACT_ORDER = [
    T + "date", T + "startDate", T + "endDate", T + "dateSigned", T + "placeSigned",
    T + "dateEnteredIntoForce", T + "dateEnded", T + "party", T + "signatory", T + "concludedBy",
    T + "instrument", T + "place", T + "participant", T + "signer", T + "onBehalfOf",
    T + "inOffice", T + "articleNumber", T + "articleOf", T + "summary", T + "text", T + "topic",
    T + "mentions", T + "hasArticle",
]  # fmt: skip

MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip


@dataclass(frozen=True)
class DateValue:
    """A date as precise as its datatype: day, month or year (docs/model.md, "Dates")."""

    year: int
    month: int | None = None
    day: int | None = None

    @property
    def precision(self) -> str:
        return "day" if self.day else "month" if self.month else "year"

    @property
    def iso(self) -> str:
        parts = [f"{self.year:04d}"]
        if self.month:
            parts.append(f"{self.month:02d}")
        if self.day:
            parts.append(f"{self.day:02d}")
        return "-".join(parts)

    def human(self) -> str:
        """``14 February 1950``, ``February 1979`` or ``1979``: no more precise than it is."""
        if self.day and self.month:
            return f"{self.day} {MONTHS[self.month - 1]} {self.year}"
        if self.month:
            return f"{MONTHS[self.month - 1]} {self.year}"
        return str(self.year)

    def span(self) -> tuple[dt.date, dt.date]:
        """The first day and the day after the last day this date covers."""
        if self.day and self.month:
            first = dt.date(self.year, self.month, self.day)
            return first, first + dt.timedelta(days=1)
        if self.month:
            first = dt.date(self.year, self.month, 1)
            nxt = dt.date(self.year + (self.month == 12), self.month % 12 + 1, 1)
            return first, nxt
        return dt.date(self.year, 1, 1), dt.date(self.year + 1, 1, 1)


def date_value(term: ox.Literal) -> DateValue | None:
    """Return the :class:`DateValue` of an ``xsd:date``, ``xsd:gYearMonth`` or ``xsd:gYear``."""
    if not isinstance(term, ox.Literal):
        return None
    kind = term.datatype.value
    text = term.value
    try:
        if kind == XSD + "date":
            year, month, day = text[:10].split("-")
            return DateValue(int(year), int(month), int(day))
        if kind == XSD + "gYearMonth":
            year, month = text[:7].split("-")
            return DateValue(int(year), int(month))
        if kind == XSD + "gYear":
            return DateValue(int(text[:4]))
    except ValueError:
        return None
    return None


@dataclass
class Claim:
    """One source's value for one property of one subject (a ``tkg:Claim``)."""

    iri: str
    subject: str
    property: str
    value: ox.NamedNode | ox.Literal
    rank: str  # preferred, normal or deprecated
    sources: list[str] = field(default_factory=list)
    reason: str = ""


@dataclass
class Fact:
    """A value of a property of an entity, with the sources that support it and its rank."""

    property: str
    value: ox.NamedNode | ox.BlankNode | ox.Literal
    sources: list[str] = field(default_factory=list)
    rank: str | None = None


def bcp47_key(tag: str) -> str:
    return tag.lower()


class GraphData:
    """The project's graph, indexed for the pages: who says what about which entity."""

    def __init__(self, store: ox.Store) -> None:
        self._labels: dict[tuple[str, str], str] = {}
        self._resting: dict[str, dict[str, list[tuple[str, ox.Term]]]] = {}
        self.out: dict[str, list[tuple[str, ox.Term, str]]] = defaultdict(list)
        self.inbound: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
        self.graph_source: dict[str, str] = {}
        self.graph_sizes: dict[str, int] = defaultdict(int)
        self.quads: list[ox.Quad] = list(store.quads_for_pattern(None, None, None, None))
        for quad in self.quads:
            s = quad.subject
            g = quad.graph_name.value if isinstance(quad.graph_name, ox.NamedNode) else ""
            self.graph_sizes[g] += 1
            if isinstance(s, ox.NamedNode):
                self.out[s.value].append((quad.predicate.value, quad.object, g))
            elif isinstance(s, ox.BlankNode):
                self.out["_:" + s.value].append((quad.predicate.value, quad.object, g))
            if isinstance(quad.object, ox.NamedNode) and isinstance(s, ox.NamedNode):
                self.inbound[quad.object.value].append((s.value, quad.predicate.value, g))
            if quad.predicate.value == GRAPH_SOURCE:
                self.graph_source[s.value] = quad.object.value
        self.entities = sorted(iri for iri in self.out if iri.startswith(ID))
        self.claims: dict[tuple[str, str], list[Claim]] = defaultdict(list)
        self.claims_by_source: dict[str, list[Claim]] = defaultdict(list)
        for iri in self.entities:
            if T + "Claim" in self.types(iri):
                claim = self._claim(iri)
                if claim is not None:
                    self.claims[(claim.subject, claim.property)].append(claim)
                    for source in claim.sources:
                        self.claims_by_source[source].append(claim)

    # -- basic look-ups --

    def values(self, subject: str, prop: str) -> list[ox.Term]:
        seen: list[ox.Term] = []
        for p, o, _g in self.out.get(subject, ()):
            if p == prop and o not in seen:
                seen.append(o)
        return seen

    def value(self, subject: str, prop: str) -> ox.Term | None:
        found = self.values(subject, prop)
        return found[0] if found else None

    def types(self, subject: str) -> list[str]:
        return [o.value for o in self.values(subject, TYPE) if isinstance(o, ox.NamedNode)]

    def labels(self, subject: str, prop: str = LABEL) -> dict[str, list[str]]:
        """Labels by language tag, the project's languages first."""
        found: dict[str, list[str]] = defaultdict(list)
        for o in self.values(subject, prop):
            if isinstance(o, ox.Literal):
                found[bcp47_case(o.language) if o.language else ""].append(o.value)
        order = {bcp47_key(tag): i for i, tag in enumerate(LANGUAGE_ORDER)}
        return dict(sorted(found.items(), key=lambda kv: (order.get(bcp47_key(kv[0]), 99), kv[0])))

    def label(self, iri: str, lang: str = "en") -> str:
        """The best label of ``iri`` in ``lang``, another language, or a readable local name."""
        key = (iri, lang)
        if key not in self._labels:
            self._labels[key] = self._label(iri, lang)
        return self._labels[key]

    def _label(self, iri: str, lang: str) -> str:
        if iri in PROPERTY_NAMES:
            return PROPERTY_NAMES[iri]
        labels = self.labels(iri)
        for tag in (lang, *LANGUAGE_ORDER):
            for have, texts in labels.items():
                if bcp47_key(have) == bcp47_key(tag) and texts:
                    return texts[0]
        for texts in labels.values():
            if texts:
                return texts[0]
        title = self.value(iri, DCT + "title")
        if isinstance(title, ox.Literal):
            return title.value
        composed = self._composed_label(iri)
        if composed:
            return composed
        if iri.startswith(ID):
            return iri.rsplit("/", 1)[-1].replace("-", " ")
        if iri.startswith("https://commons.wikimedia.org/wiki/File:"):
            return unquote(iri.rsplit("File:", 1)[-1])
        if "wikipedia.org/wiki/" in iri:
            return unquote(iri.rsplit("/wiki/", 1)[-1]).replace("_", " ")
        name = prefixed_name(iri)
        return name if not name.startswith("<") else iri

    def _composed_label(self, iri: str) -> str:
        """A name for records that have none of their own: signatures, claims, link records."""
        types = self.types(iri)

        def name(prop: str) -> str:
            value = self.value(iri, T + prop)
            if isinstance(value, ox.NamedNode):
                return self.label(value.value)
            if isinstance(value, ox.Literal):
                date = date_value(value)
                return date.human() if date else value.value
            return ""

        if T + "Signature" in types and name("signer"):
            party = name("onBehalfOf")
            return f"Signature of {name('signer')}" + (f" for {party}" if party else "")
        if T + "Claim" in types and name("claimSubject"):
            source = name("statedIn")
            return f"{name('claimSubject')}: {name('claimProperty')} {name('claimValue')}" + (
                f", per {source}" if source else ""
            )
        if T + "WikidataLink" in types and name("linkedEntity"):
            item = self.value(iri, T + "linkedItem")
            qid = item.value.rsplit("/", 1)[-1] if isinstance(item, ox.NamedNode) else ""
            return f"Wikidata link of {name('linkedEntity')}" + (f" to {qid}" if qid else "")
        return ""

    def other_label(self, iri: str) -> str:
        """The Chinese label when the page title is English (or the reverse), else ''."""
        main = self.label(iri)
        for tag in ("zh-Hans", "zh-Hant", "ru", "en"):
            for have, texts in self.labels(iri).items():
                if bcp47_key(have) == bcp47_key(tag) and texts and texts[0] != main:
                    return texts[0]
        return ""

    def description(self, iri: str) -> str:
        for o in self.values(iri, DESCRIPTION):
            if isinstance(o, ox.Literal) and (o.language or "").lower().startswith("en"):
                return o.value
        for o in self.values(iri, SKOS + "definition"):
            if isinstance(o, ox.Literal) and (o.language or "").lower().startswith("en"):
                return o.value
        return ""

    def kind(self, iri: str) -> str:
        """The ``<type>`` segment of an entity IRI (``person``, ``treaty``...)."""
        return iri[len(ID) :].split("/", 1)[0] if iri.startswith(ID) else ""

    def class_label(self, iri: str) -> str:
        return self.label(iri)

    def main_type(self, iri: str) -> str | None:
        """The most specific tkg: (or skos:, void:) class of ``iri``."""
        types = self.types(iri)
        tkg_types = [t for t in types if t.startswith(T)]
        if not tkg_types:
            return types[0] if types else None
        # The one that is not a superclass of another.
        for t in tkg_types:
            if not any(t in self.superclasses(other) for other in tkg_types if other != t):
                return t
        return tkg_types[0]

    def superclasses(self, cls: str) -> set[str]:
        seen: set[str] = set()
        todo = [cls]
        while todo:
            current = todo.pop()
            for o in self.values(current, RDFS + "subClassOf"):
                if isinstance(o, ox.NamedNode) and o.value not in seen:
                    seen.add(o.value)
                    todo.append(o.value)
        return seen

    def schema_type(self, iri: str) -> str:
        """A schema.org type for the embedded JSON-LD, from the alignments (else Thing)."""
        for cls in self.types(iri):
            candidates = [cls, *sorted(self.superclasses(cls))]
            for c in candidates:
                for prop in (SKOS + "closeMatch", RDFS + "subClassOf"):
                    for o in self.values(c, prop):
                        if isinstance(o, ox.NamedNode) and o.value.startswith(SCHEMA):
                            return o.value[len(SCHEMA) :]
        return "Thing"

    def sources_of_graph(self, graph: str) -> str | None:
        return self.graph_source.get(graph)

    # -- claims --

    def _claim(self, iri: str) -> Claim | None:
        subject = self.value(iri, T + "claimSubject")
        prop = self.value(iri, T + "claimProperty")
        value = self.value(iri, T + "claimValue")
        if subject is None or prop is None or value is None:
            return None
        rank = self.value(iri, T + "rank")
        reason = self.value(iri, T + "reason")
        return Claim(
            iri=iri,
            subject=subject.value,
            property=prop.value,
            value=value,
            rank=RANKS.get(rank.value, "normal") if rank is not None else "normal",
            sources=[o.value for o in self.values(iri, T + "statedIn")],
            reason=reason.value if isinstance(reason, ox.Literal) else "",
        )

    def claims_about(self, subject: str) -> dict[str, list[Claim]]:
        """The claims about ``subject``, by property, preferred first."""
        order = {"preferred": 0, "normal": 1, "deprecated": 2}
        found = {
            prop: sorted(claims, key=lambda c: (order[c.rank], str(c.value)))
            for (subj, prop), claims in self.claims.items()
            if subj == subject
        }
        return dict(sorted(found.items(), key=lambda kv: self.fact_sort_key(kv[0])))

    def disputed(self, claims: list[Claim]) -> bool:
        """True when a source gives a value that the preferred claims do not hold."""
        preferred = {c.value for c in claims if c.rank == "preferred"}
        return any(c.value not in preferred for c in claims) and len({c.value for c in claims}) > 1

    # -- facts --

    def fact_sort_key(self, prop: str) -> tuple[int, str]:
        if prop in FACT_ORDER:
            return (FACT_ORDER.index(prop), "")
        return (len(FACT_ORDER), self.label(prop).lower())

    def facts(self, subject: str) -> dict[str, list[Fact]]:
        """The facts of ``subject`` by property (not its names, types and outward links)."""
        grouped: dict[str, dict[ox.Term, Fact]] = defaultdict(dict)
        for p, o, g in self.out.get(subject, ()):
            if p in NOT_FACTS:
                continue
            fact = grouped[p].setdefault(o, Fact(p, o))
            source = self.graph_source.get(g)
            if source and source not in fact.sources:
                fact.sources.append(source)
        for (subj, prop), claims in self.claims.items():
            if subj != subject or prop not in grouped:
                continue
            for claim in claims:
                fact = grouped[prop].get(claim.value)
                if fact is None:
                    continue
                for source in claim.sources:
                    if source not in fact.sources:
                        fact.sources.append(source)
                if fact.rank != "preferred":
                    fact.rank = claim.rank if fact.rank in (None, "normal") else fact.rank
        ordered = sorted(grouped, key=self.fact_sort_key)
        return {
            p: sorted(grouped[p].values(), key=lambda f: self.sort_value(f.value)) for p in ordered
        }

    def sort_value(self, term: ox.Term) -> tuple[int, str]:
        if isinstance(term, ox.Literal):
            if term.datatype.value in (XSD + "integer", XSD + "positiveInteger"):
                try:
                    return (0, f"{int(term.value):012d}")
                except ValueError:
                    pass
            return (0, term.value)
        return (1, self.label(term.value).lower() if isinstance(term, ox.NamedNode) else "")

    def inbound_links(self, iri: str) -> dict[str, list[str]]:
        """The entities that point to ``iri``, by property (claims and link records aside)."""
        grouped: dict[str, list[str]] = defaultdict(list)
        for s, p, _g in self.inbound.get(iri, ()):
            if not s.startswith(ID) or p == TYPE:
                continue
            if p in (T + "claimSubject", T + "claimValue", T + "linkedEntity"):
                continue
            if s not in grouped[p]:
                grouped[p].append(s)
        return {
            p: sorted(grouped[p], key=lambda s: self.label(s).lower())
            for p in sorted(grouped, key=lambda p: self.label(p).lower())
        }

    def outward_links(self, iri: str) -> list[tuple[str, str]]:
        """(kind, url) pairs: Wikidata, Wikipedia, Commons, the source's own page."""
        links: list[tuple[str, str]] = []
        for o in self.values(iri, WIKIDATA_ITEM):
            links.append(("Wikidata", o.value))
        for o in self.values(iri, WIKIPEDIA_PAGE):
            lang = o.value.split("//", 1)[-1].split(".", 1)[0]
            title = unquote(o.value.rsplit("/wiki/", 1)[-1]).replace("_", " ")
            links.append((f"Wikipedia ({lang}): {title}", o.value))
        for o in self.values(iri, COMMONS_FILE):
            name = o.value.replace(" ", "_")
            links.append(("Wikimedia Commons", "https://commons.wikimedia.org/wiki/File:" + name))
        for prop, kind in ((SCHEMA + "url", "Web page"), (FOAF + "page", "Web page")):
            for o in self.values(iri, prop):
                if isinstance(o, ox.NamedNode):
                    links.append((kind, o.value))
        for o in self.values(iri, T + "fullTextAt"):
            if isinstance(o, ox.NamedNode):
                links.append(("Full text", o.value))
        return links

    # -- sources --

    def sources(self) -> list[str]:
        return [iri for iri in self.entities if T + "Source" in self.types(iri)]

    def graphs_of_source(self, source: str) -> list[str]:
        return sorted(g for g, s in self.graph_source.items() if s == source)

    def facts_resting_on(self, source: str) -> dict[str, list[tuple[str, ox.Term]]]:
        """The triples of the source's named graphs, by subject, and the values of its claims."""
        if source not in self._resting:
            self._resting[source] = self._facts_resting_on(source)
        return self._resting[source]

    def _facts_resting_on(self, source: str) -> dict[str, list[tuple[str, ox.Term]]]:
        graphs = set(self.graphs_of_source(source))
        found: dict[str, list[tuple[str, ox.Term]]] = defaultdict(list)
        for quad in self.quads:
            g = quad.graph_name.value if isinstance(quad.graph_name, ox.NamedNode) else ""
            if g not in graphs or not isinstance(quad.subject, ox.NamedNode):
                continue
            subject = quad.subject.value
            if T + "Claim" in self.types(subject) or quad.predicate.value == GRAPH_SOURCE:
                continue
            pair = (quad.predicate.value, quad.object)
            if pair not in found[subject]:
                found[subject].append(pair)
        for claim in self.claims_by_source.get(source, ()):
            pair = (claim.property, claim.value)
            if pair not in found[claim.subject]:
                found[claim.subject].append(pair)
        return {
            s: sorted(found[s], key=lambda pv: self.fact_sort_key(pv[0]))
            for s in sorted(found, key=lambda s: (self.kind(s), self.label(s).lower()))
        }

    # -- the entity's own RDF --

    def description_triples(self, iri: str) -> list[ox.Triple]:
        """The concise bounded description of ``iri``: its triples, and blank nodes' in turn."""
        triples: list[ox.Triple] = []
        seen: set[ox.Triple] = set()
        todo = [iri]
        done: set[str] = set()
        while todo:
            key = todo.pop()
            if key in done:
                continue
            done.add(key)
            subject = ox.BlankNode(key[2:]) if key.startswith("_:") else ox.NamedNode(key)
            for p, o, _g in self.out.get(key, ()):
                triple = ox.Triple(subject, ox.NamedNode(p), o)
                if triple not in seen:
                    seen.add(triple)
                    triples.append(triple)
                if isinstance(o, ox.BlankNode):
                    todo.append("_:" + o.value)
        return sorted(triples, key=lambda t: (str(t.predicate), str(t.object)))

    # -- counts --

    def class_counts(self) -> list[tuple[str, int]]:
        counts: dict[str, int] = defaultdict(int)
        for iri in self.entities:
            main = self.main_type(iri)
            if main:
                counts[main] += 1
        return sorted(counts.items(), key=lambda kv: (-kv[1], self.label(kv[0])))

    def source_counts(self) -> list[tuple[str, str | None, int]]:
        """(graph, its source, triples) for every named graph, largest first."""
        rows = [
            (g, self.graph_source.get(g), n)
            for g, n in self.graph_sizes.items()
            if g.startswith(GRAPH)
        ]
        return sorted(rows, key=lambda r: (-r[2], r[0]))


def site_path(iri: str) -> str | None:
    """The page of ``iri`` in the site, relative to its root: its path below the base + .html.

    >>> site_path("https://w3id.org/treatykg/id/person/zhou-enlai")
    'id/person/zhou-enlai.html'
    >>> site_path("https://example.org/x") is None
    True
    """
    if not iri.startswith(ID):
        return None
    return iri[len(BASE) :] + ".html"
