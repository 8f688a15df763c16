"""``treatykg docs``: a static site built from the graph alone, readable from a plain folder.

:func:`build_site` writes, under one folder:

- ``index.html``: what the graph is, its counts per class and per source, the treaty's card;
- ``id/<type>/<slug>.html`` (and ``.ttl``, ``.jsonld``): a page per entity, at the path of its
  IRI below ``https://w3id.org/treatykg/``, with the entity's concise bounded description;
- ``browse.html``, ``sources.html``, ``timeline.html``, ``map.html``, ``neighbourhood.html``;
- ``queries/<name>.html``: each stored query with its current answer;
- ``ontology/index.html`` (pyLODE) and ``shapes/<Name>.html``;
- ``static/``: the one style sheet and script every page uses. No page loads anything from
  another site, so the folder works offline and from ``file://``.

Pages link to each other by relative paths, so the folder can be served under any prefix.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

import pyoxigraph as ox

from treatykg.errors import InputError, TreatyKGError
from treatykg.loading import bcp47_case
from treatykg.namespaces import BASE, ID, PREFIXES, SH_NS, prefixed_name
from treatykg.site import pictures
from treatykg.site.graphdata import (
    ALT_LABEL,
    DESCRIPTION,
    LANGUAGE_NAMES,
    SCHEMA,
    XSD,
    GraphData,
    T,
    date_value,
    site_path,
)

if TYPE_CHECKING:
    from markupsafe import Markup

TREATY = ID + "treaty/treaty-1950"
"""The entity the home page and the neighbourhood picture are about."""
SH = PREFIXES["sh"]
DEFAULT_OUT = Path("dist") / "site"

BROWSE_FIRST = [
    "Treaty", "Agreement", "SupplementaryAgreement", "Article", "Signing", "EntryIntoForce",
    "ExchangeOfRatifications", "Expiry", "Termination", "HistoricalEvent", "Person", "State",
    "Government", "GovernmentBody", "Office", "City", "Building", "Region", "Place", "Policy",
    "Programme", "Bridge", "AircraftType", "Work", "Image", "Source",
]  # fmt: skip
"""The order of the collection page: the treaty's world first."""
RECORD_CLASSES = {
    T + "Claim", T + "WikidataLink", T + "RejectedWikidataLink", T + "Signature",
    T + "OfficeHolding",
    PREFIXES["skos"] + "Concept", PREFIXES["skos"] + "ConceptScheme", PREFIXES["void"] + "Dataset",
}  # fmt: skip
"""Records about other entities, listed compactly on the collection page."""


@dataclass
class SiteReport:
    folder: Path
    pages: int
    entities: int
    seconds: float


class Renderer:
    """Turns terms into what templates show, with links relative to the page being written."""

    def __init__(self, data: GraphData) -> None:
        # Imported here: only a build needs jinja2, not the commands that import this package
        # for DEFAULT_OUT or for its serving module (`treatykg --help`, `treatykg load`).
        from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

        self.data = data
        self.env = Environment(
            loader=PackageLoader("treatykg.site", "templates"),
            autoescape=select_autoescape(["html", "svg"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self.env.globals.update(
            label=data.label,
            other_label=data.other_label,
            prefixed=prefixed_name,
            language_names=LANGUAGE_NAMES,
            centre_lines=pictures.centre_lines,
            class_name=lambda iri: _capital(data.label(iri)),
        )
        self.env.filters["jsonld"] = _script_json
        self.anchors: dict[str, str] = {}  # vocabulary term IRI -> its id in pyLODE's page

    def page(self, template: str, path: str, out: Path, **context) -> None:
        """Write ``template`` to ``out/path``; ``root`` and ``link`` are relative to ``path``."""
        depth = path.count("/")
        root = "../" * depth

        def link(iri_or_path: str) -> str:
            target = site_path(iri_or_path) if "://" in iri_or_path else iri_or_path
            return root + target if target else iri_or_path

        def value(term) -> dict:
            return self.value(term, link)

        def term_link(iri: str) -> str:
            anchor = self.anchors.get(iri)
            return root + "ontology/index.html" + (f"#{anchor}" if anchor else "")

        html = self.env.get_template(template).render(
            root=root, link=link, value=value, path=path, term_link=term_link, **context
        )
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(html, "utf-8")

    def value(self, term, link) -> dict:
        """What a template needs to show an RDF term: its kind, text and link."""
        if isinstance(term, ox.NamedNode):
            iri = term.value
            if iri.startswith(ID):
                return {
                    "kind": "entity",
                    "text": self.data.label(iri),
                    "href": link(iri),
                    "note": self.data.kind(iri),
                }
            if iri.startswith(BASE + "ontology#"):
                anchor = self.anchors.get(iri)
                href = link("ontology/index.html") + (f"#{anchor}" if anchor else "")
                return {"kind": "term", "text": self.data.label(iri), "href": href, "note": ""}
            if iri.startswith(("http://www.wikidata.org/entity/", "https://www.wikidata.org/")):
                return {
                    "kind": "link",
                    "text": "Wikidata " + iri.rsplit("/", 1)[-1],
                    "href": iri,
                    "note": "",
                }
            text = self.data.label(iri)
            if text == iri:  # a plain web address: readable, and short enough for a line
                text = unquote(iri.split("://", 1)[-1])
                text = text if len(text) <= 72 else text[:71] + "…"
            return {"kind": "link", "text": text, "href": iri, "note": ""}
        if isinstance(term, ox.BlankNode):
            return {"kind": "text", "text": "(an unnamed node)", "lang": "", "note": ""}
        date = date_value(term)
        if date is not None:
            return {"kind": "date", "text": date.human(), "note": date.precision, "iso": date.iso}
        datatype = term.datatype.value
        if datatype == XSD + "duration":
            years = re.fullmatch(r"P(\d+)Y", term.value)
            if years:  # the one form the graph uses (a treaty's term)
                return {"kind": "text", "text": f"{int(years.group(1))} years", "lang": "",
                        "note": term.value}  # fmt: skip
        note = ""
        if datatype not in (XSD + "string", PREFIXES["rdf"] + "langString"):
            note = prefixed_name(datatype)
        lang = bcp47_case(term.language) if term.language else ""
        return {"kind": "text", "text": term.value, "lang": lang, "note": note}


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _script_json(data) -> Markup:
    """JSON for a ``<script type="application/ld+json">`` block: no ``</`` can end it early."""
    from markupsafe import Markup

    text = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=False)
    return Markup(text.replace("</", "<\\/"))


def build_site(out: Path | str = DEFAULT_OUT, *, ontology: bool = True) -> SiteReport:
    """Build the whole site into ``out`` and return what was written.

    The site is built in a new folder next to ``out`` and moved into place at the end, so a
    failed build leaves the previous site whole.
    """
    from treatykg.loading import load_store, parse_file, shape_files

    started = time.monotonic()
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: not a folder")
    if out.exists() and any(out.iterdir()) and not (out / "index.html").exists():
        raise InputError(f"{out}: the folder holds other files; choose an empty or new folder")
    store = load_store()
    shapes = [quad for path in shape_files() for quad in parse_file(path)]
    data = GraphData(store)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".site-", dir=out.parent))
    try:
        pages = _write_site(data, store, shapes, staging, ontology=ontology)
        if out.exists():
            old = out.with_name(out.name + ".old")
            shutil.rmtree(old, ignore_errors=True)
            out.rename(old)
            staging.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return SiteReport(out, pages, len(data.entities), time.monotonic() - started)


def _write_site(
    data: GraphData, store: ox.Store, shapes: list[ox.Quad], out: Path, *, ontology: bool
) -> int:
    r = Renderer(data)
    static = resources.files("treatykg.site").joinpath("static")
    (out / "static").mkdir(parents=True)
    for name in ("site.css", "site.js", "bar.css"):
        (out / "static" / name).write_text(static.joinpath(name).read_text("utf-8"), "utf-8")
    pages = 0
    if ontology:
        r.anchors = _ontology_page(out / "ontology" / "index.html", r)
        pages += 1

    def href_from_root(iri: str) -> str:
        return site_path(iri) or iri

    # -- entities --
    for iri in data.entities:
        path = site_path(iri)
        assert path is not None
        _write_rdf(data, iri, out / path[: -len(".html")])
        r.page("entity.html", path, out, **_entity_context(data, iri))
        pages += 1

    # -- pictures --
    timeline = pictures.timeline(data, href_from_root)
    map_picture = pictures.map_picture(data, href_from_root)
    picture = pictures.neighbourhood(data, TREATY, href_from_root)
    r.page("timeline.html", "timeline.html", out, timeline=timeline)
    r.page("map.html", "map.html", out, map=map_picture)
    r.page("neighbourhood.html", "neighbourhood.html", out, picture=picture, treaty=TREATY)
    pages += 3

    # -- lists --
    by_class: dict[str, list[str]] = {}
    for iri in data.entities:
        by_class.setdefault(data.main_type(iri) or "", []).append(iri)
    for c in by_class:
        by_class[c].sort(key=lambda i: data.label(i).lower())
    # The things a visitor looks for first; records about them (claims, signatures, links...)
    # after, as compact lists.
    first = [T + name for name in BROWSE_FIRST]
    classes = sorted(
        by_class,
        key=lambda c: (c in RECORD_CLASSES, first.index(c) if c in first else 99,
                       data.label(c).lower()),
    )  # fmt: skip
    r.page(
        "browse.html", "browse.html", out, classes=classes, by_class=by_class,
        description=data.description, records=RECORD_CLASSES,
    )  # fmt: skip
    sources = sorted(data.sources(), key=lambda s: data.label(s).lower())
    r.page(
        "sources.html",
        "sources.html",
        out,
        sources=sources,
        counts={s: sum(len(v) for v in data.facts_resting_on(s).values()) for s in sources},
        kinds={s: data.values(s, T + "sourceKind") for s in sources},
        retrieved={s: _retrieved(data, s) for s in sources},
    )
    pages += 2

    # -- queries --
    queries = _query_pages(store)
    for query in queries:
        r.page("query.html", f"queries/{query['name']}.html", out, query=query)
    r.page("queries.html", "queries/index.html", out, queries=queries)
    pages += len(queries) + 1

    # -- shapes and ontology --
    shape_list = _shape_pages(shapes)
    for shape in shape_list:
        r.page("shape.html", f"shapes/{shape['name']}.html", out, shape=shape)
    r.page("shapes.html", "shapes/index.html", out, shapes=shape_list)
    pages += len(shape_list) + 1
    from treatykg.loading import ontology_files

    for path in ontology_files():  # the vocabulary's own Turtle, served at /ontology
        (out / "ontology").mkdir(exist_ok=True)
        shutil.copyfile(path, out / "ontology" / path.name)

    # -- home --
    r.page("home.html", "index.html", out, **_home_context(data, timeline, picture))
    return pages + 1


def _retrieved(data: GraphData, source: str) -> str:
    date = date_value(data.value(source, T + "retrieved"))
    return date.human() if date else ""


def _write_rdf(data: GraphData, iri: str, stem: Path) -> None:
    triples = data.description_triples(iri)
    stem.parent.mkdir(parents=True, exist_ok=True)
    used = {
        p: ns
        for p, ns in PREFIXES.items()
        if any(
            str(t.predicate.value).startswith(ns)
            or (isinstance(t.object, ox.NamedNode) and t.object.value.startswith(ns))
            for t in triples
        )
    }
    stem.with_suffix(".ttl").write_bytes(
        ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=used)
    )
    stem.with_suffix(".jsonld").write_bytes(ox.serialize(triples, format=ox.RdfFormat.JSON_LD))


def _json_ld(data: GraphData, iri: str) -> dict:
    """The schema.org description search engines read, embedded in the entity's page."""
    names = [
        {"@value": text, "@language": lang}
        for lang, texts in data.labels(iri).items()
        for text in texts
    ]
    block: dict = {
        "@context": {"@vocab": SCHEMA, "tkg": T},
        "@id": iri,
        "@type": [data.schema_type(iri)]
        + [prefixed_name(t) for t in data.types(iri) if t.startswith(T)],
        "name": names,
    }
    description = data.description(iri)
    if description:
        block["description"] = description
    same = [url for kind, url in data.outward_links(iri) if kind == "Wikidata"]
    same += [url for kind, url in data.outward_links(iri) if kind.startswith("Wikipedia")]
    if same:
        block["sameAs"] = same
    block["subjectOf"] = [
        {"@id": iri + ".ttl", "encodingFormat": "text/turtle"},
        {"@id": iri + ".jsonld", "encodingFormat": "application/ld+json"},
    ]
    return block


def _entity_context(data: GraphData, iri: str) -> dict:
    claims = data.claims_about(iri)
    facts = data.facts(iri)
    # Sources are cited by number, as footnotes: a page names each source once, at its foot.
    footnotes: list[str] = []
    for fact_list in facts.values():
        for fact in fact_list:
            footnotes += [s for s in fact.sources if s not in footnotes]
    for claim_list in claims.values():
        for claim in claim_list:
            footnotes += [s for s in claim.sources if s not in footnotes]
    ranks = {"preferred": 0, "normal": 1, "deprecated": 2}
    claim_groups = {}
    for prop, claim_list in claims.items():
        groups: dict = {}
        for claim in claim_list:
            group = groups.setdefault(
                claim.value, {"value": claim.value, "rank": claim.rank, "claims": []}
            )
            group["claims"].append(claim)
            if ranks[claim.rank] < ranks[group["rank"]]:
                group["rank"] = claim.rank
        claim_groups[prop] = sorted(groups.values(), key=lambda g: ranks[g["rank"]])
    is_source = T + "Source" in data.types(iri)
    main = data.main_type(iri)
    return {
        "iri": iri,
        "title": data.label(iri),
        "subtitle": data.other_label(iri),
        "kind": data.kind(iri),
        "main_type": main,
        "types": data.types(iri),
        "labels": data.labels(iri),
        "alt_labels": data.labels(iri, ALT_LABEL),
        "descriptions": data.labels(iri, DESCRIPTION),
        "facts": facts,
        "claims": claim_groups,
        "footnotes": footnotes,
        "cite_index": {source: i + 1 for i, source in enumerate(footnotes)},
        "disputed": {p: data.disputed(c) for p, c in claims.items()},
        "inbound": data.inbound_links(iri),
        "links": data.outward_links(iri),
        "json_ld": _json_ld(data, iri),
        "is_source": is_source,
        "resting": data.facts_resting_on(iri) if is_source else {},
        "source_graphs": data.graphs_of_source(iri) if is_source else [],
        "is_treaty": iri == TREATY,
    }


def _home_context(data: GraphData, timeline, picture) -> dict:
    dataset = ID + "dataset/treatykg"
    treaty_facts = data.facts(TREATY)
    card = {
        p: treaty_facts[p]
        for p in (
            T + "dateSigned",
            T + "placeSigned",
            T + "dateEnteredIntoForce",
            T + "dateEnded",
            T + "party",
            T + "signatory",
        )
        if p in treaty_facts
    }
    return {
        "dataset": dataset,
        "dataset_title": data.label(dataset),
        "dataset_description": data.description(dataset),
        "treaty": TREATY,
        "treaty_labels": data.labels(TREATY),
        "treaty_description": data.description(TREATY),
        "card": card,
        "class_counts": data.class_counts(),
        "source_counts": data.source_counts(),
        "entities": len(data.entities),
        "triples": len(data.quads),
        "events": len(timeline.rows),
        "neighbours": len(picture.nodes),
        "source_total": len(data.sources()),
        "licence": [o.value for o in data.values(dataset, PREFIXES["dcterms"] + "license")],
    }


def _query_pages(store: ox.Store) -> list[dict]:
    from treatykg.catalogue import stored_queries
    from treatykg.querying import is_federated, run

    pages = []
    for query in stored_queries():
        federated = is_federated(query.text)
        answer = None
        error = ""
        if not federated:
            try:
                answer = run(query, store=store)
            except TreatyKGError as failure:
                error = str(failure)
        pages.append(
            {
                "name": query.name,
                "title": query.title,
                "question": query.header.get("question", ""),
                "question_zh": query.header.get("question-zh", ""),
                "answer_text": query.header.get("answer", ""),
                "parameters": query.parameters,
                "text": query.text,
                "federated": federated,
                "answer": answer,
                "error": error,
            }
        )
    return pages


def _shape_pages(quads: list[ox.Quad]) -> list[dict]:
    """Each shape that is not only a property of another, with what it checks."""
    store = ox.Store()
    store.extend(quads)
    shapes_data = GraphData(store)
    shape_iris = [
        s
        for s in shapes_data.out
        if s.startswith(SH_NS)
        and any(t in (SH + "NodeShape", SH + "PropertyShape") for t in shapes_data.types(s))
    ]
    nested = {
        o.value
        for s in shape_iris
        for o in shapes_data.values(s, SH + "property")
        if isinstance(o, ox.NamedNode)
    }

    def describe(iri: str) -> dict:
        constraints = []
        for p, o, _g in shapes_data.out.get(iri, ()):
            if p.startswith(SH) and p not in SHAPE_TEXT:
                constraints.append((prefixed_name(p), _shape_value(o)))
        text = {
            f"sh_{key}": next((o.value for o in shapes_data.values(iri, SH + key)), "")
            for key in ("name", "description", "message", "select")
        }
        return {
            "iri": iri,
            "name": iri[len(SH_NS) :],
            "constraints": sorted(constraints),
            **text,
        }

    pages = []
    for iri in sorted(s for s in shape_iris if s not in nested):
        page = describe(iri)
        for key, prop in (("properties", "property"), ("sparql", "sparql")):
            page[key] = [
                describe(o.value)
                for o in sorted(shapes_data.values(iri, SH + prop), key=lambda o: str(o))
                if isinstance(o, ox.NamedNode)
            ]
        pages.append(page)
    return pages


SHAPE_TEXT = {SH + key for key in ("name", "description", "message", "property", "sparql",
                                   "select", "prefixes")}  # fmt: skip
"""What a shape's page shows as text or sections, not in its table of constraints."""


def _shape_value(term) -> str:
    if isinstance(term, ox.NamedNode):
        return prefixed_name(term.value)
    if isinstance(term, ox.BlankNode):
        return "(a list or node)"
    return term.value


_PYLODE_ENTITY = re.compile(
    r'<div class="[^"]*\bentity" id="([^"]+)">.*?<code>([^<]+)</code>', re.DOTALL
)


def _ontology_page(target: Path, r: Renderer) -> dict[str, str]:
    """The vocabulary's documentation, generated by pyLODE, with the site's bar on top.

    Returns the id pyLODE gave each term's section (it derives them from labels), so that the
    other pages can link to a term's own section.
    """
    import logging

    import rdflib

    from treatykg.loading import ontology_files, parse_file
    from treatykg.rdflib_graphs import to_rdflib_term

    logging.getLogger("root").setLevel(logging.WARNING)
    from pylode import OntPub

    graph = rdflib.Graph()
    for path in ontology_files():
        for quad in parse_file(path):
            graph.add(tuple(to_rdflib_term(t) for t in (quad.subject, quad.predicate, quad.object)))
    html = OntPub(ontology=graph).make_html(include_css=True)
    bar = r.env.get_template("bar.html").render(root="../")
    html = html.replace("<body>", "<body>" + bar, 1)
    html = html.replace("</head>", '<link rel="stylesheet" href="../static/bar.css"></head>', 1)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(html, "utf-8")
    return {iri: anchor for anchor, iri in _PYLODE_ENTITY.findall(html)}
