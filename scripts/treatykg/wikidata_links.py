"""The graph's side of the Wikidata links: entities, their labels, pages and link records.

Links live in ``graph/wikidata/links.ttl`` (the named graph ``g:wikidata``). Each link is a
``tkg:wikidataItem`` triple plus a ``tkg:WikidataLink`` record (``link:<slug>``) that says
where the evidence is and when it was read (docs/model.md). Items that were looked at and found
to be another thing than the entity are recorded in ``graph/wikidata/not-linked.ttl`` as
``tkg:RejectedWikidataLink`` records (the entity, the item, the reason, the evidence, the date):
``check`` reports a link that contradicts one, ``resolve`` never writes one and ``suggest`` marks
it. This module reads them out of the loaded graph and appends new records to the link file,
atomically: the new text goes to a temporary file beside it, is parsed by pyoxigraph, and only
then replaces the old file.
"""

from __future__ import annotations

import os
import tempfile
import urllib.parse
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from treatykg import loading, paths
from treatykg.errors import InputError
from treatykg.namespaces import GRAPH, ID, TKG_NS, WD

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
RDFS_SUBCLASS = "http://www.w3.org/2000/01/rdf-schema#subClassOf"
SKOS_ALT = "http://www.w3.org/2004/02/skos/core#altLabel"
XSD = "http://www.w3.org/2001/XMLSchema#"

WIKIDATA_GRAPH = GRAPH + "wikidata"
ZH_WIKIPEDIA = "https://zh.wikipedia.org/"

LINKABLE_KINDS = ("treaty", "person", "state", "org", "office", "place", "event", "policy", "work")
"""Entity kinds (the ``<type>`` of ``…/id/<type>/<slug>``) that Wikidata has items for.

Articles, office holdings, signatures, claims, link records, sources, images and concepts are
the graph's own structure; they are not reported as unlinked (they may still be linked)."""

_QID_IRI = WD + "Q"


def links_file() -> Path:
    """Return the project's link file, ``graph/wikidata/links.ttl``."""
    return paths.graph_dir() / "wikidata" / "links.ttl"


def qid(iri: str) -> str:
    """Return ``Q42`` for ``http://www.wikidata.org/entity/Q42``.

    >>> qid("http://www.wikidata.org/entity/Q148")
    'Q148'
    """
    return iri.rsplit("/", 1)[-1]


def item_iri(item: str) -> str:
    """Return the entity IRI of a QID (``Q148`` or a full IRI), checking its form.

    >>> item_iri("Q148")
    'http://www.wikidata.org/entity/Q148'
    """
    value = item.strip()
    if value.startswith(_QID_IRI):
        value = qid(value)
    if not (value[:1] == "Q" and value[1:].isdigit() and not value[1:].startswith("0")):
        raise InputError(
            f"not a Wikidata item identifier: {item!r} (expected Q followed by digits)"
        )
    return WD + value


def entity_kind(iri: str) -> str | None:
    """Return the ``<type>`` part of an entity IRI, or None outside the entity namespace.

    >>> entity_kind("https://w3id.org/treatykg/id/person/zhou-enlai")
    'person'
    """
    if not iri.startswith(ID):
        return None
    rest = iri[len(ID) :]
    return rest.split("/", 1)[0] if "/" in rest else None


def entity_slug(iri: str) -> str:
    """Return the slug of an entity IRI (its last path segment)."""
    return iri.rstrip("/").rsplit("/", 1)[-1]


def short(iri: str) -> str:
    """Return ``person:zhou-enlai`` for an entity IRI, ``wd:Q5`` for an item, else the IRI."""
    kind = entity_kind(iri)
    if kind:
        return f"{kind}:{entity_slug(iri)}"
    if iri.startswith(WD):
        return f"wd:{qid(iri)}"
    return iri


def lang_group(tag: str | None) -> str | None:
    """Return the language a tag belongs to for comparisons: ``en``, ``zh``, ``ru`` or None.

    Tags compare case-insensitively (Wikidata writes ``zh-hans``, the graph ``zh-Hans``).

    >>> lang_group("zh-Hant"), lang_group("en-GB"), lang_group("ru"), lang_group("fr")
    ('zh', 'en', 'ru', None)
    """
    if not tag:
        return None
    primary = tag.lower().split("-", 1)[0]
    return primary if primary in ("en", "zh", "ru") else None


def wikipedia_title(page: str) -> str | None:
    """Return the page title of a zh.wikipedia.org IRI, decoded, underscores as spaces.

    >>> wikipedia_title("https://zh.wikipedia.org/wiki/%E5%91%A8%E6%81%A9%E6%9D%A5")
    '周恩来'
    >>> wikipedia_title("https://en.wikipedia.org/wiki/Moscow") is None
    True
    """
    prefix = ZH_WIKIPEDIA + "wiki/"
    if not page.startswith(prefix):
        return None
    return urllib.parse.unquote(page[len(prefix) :]).replace("_", " ")


@dataclass
class Entity:
    """One entity of the graph with what linking needs to know about it."""

    iri: str
    types: set[str] = field(default_factory=set)
    labels: list[tuple[str, str]] = field(default_factory=list)  # (text, language tag)
    alt_labels: list[tuple[str, str]] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)
    items: list[str] = field(default_factory=list)  # linked Wikidata item IRIs
    rejected: dict[str, str] = field(default_factory=dict)  # item IRI → why it is not this entity

    @property
    def kind(self) -> str | None:
        return entity_kind(self.iri)

    @property
    def short(self) -> str:
        return short(self.iri)

    @property
    def linkable(self) -> bool:
        return self.kind in LINKABLE_KINDS

    def names(self, group: str | None = None, *, alternates: bool = True) -> list[str]:
        """Return the labels (and alternative labels) in one language group, or all."""
        pairs = self.labels + (self.alt_labels if alternates else [])
        seen: list[str] = []
        for text, tag in pairs:
            if (group is None or lang_group(tag) == group) and text not in seen:
                seen.append(text)
        return seen

    def label(self, group: str = "en") -> str:
        """Return one label in a language group ('' if none), zh-Hans first for Chinese."""
        for text, tag in sorted(
            self.labels, key=lambda p: (p[1].lower() != "zh-hans", p[1].lower(), p[0])
        ):
            if lang_group(tag) == group:
                return text
        return ""


@dataclass(frozen=True)
class LinkRecord:
    """A ``tkg:WikidataLink`` record as read from the graph."""

    iri: str
    entity: str | None
    item: str | None
    method: str | None
    evidence_urls: tuple[str, ...]


@dataclass(frozen=True)
class Rejection:
    """A ``tkg:RejectedWikidataLink`` record: an item found to be another thing than the entity."""

    iri: str
    entity: str | None
    item: str | None
    reason: str
    evidence_urls: tuple[str, ...]


class LocalGraph:
    """The project's graph loaded for linking, with the link file replaceable for tests."""

    def __init__(self, store: ox.Store, link_file: Path) -> None:
        self.store = store
        self.link_file = link_file
        self._entities: dict[str, Entity] | None = None

    @classmethod
    def load(
        cls, link_file: Path | str | None = None, *, require_links: bool = False
    ) -> LocalGraph:
        """Load the ontology and graph; ``link_file`` stands in for ``graph/wikidata/links.ttl``.

        A missing ``link_file`` is read as empty (nothing linked yet), so ``resolve`` can start
        a new file. A link that is not an item IRI (``tkg:wikidataItem "Q1"``) is an
        :class:`InputError`; so is, with ``require_links``, a file that holds no link at all (an
        empty or truncated file must not pass as "0 links, 0 problems").
        """
        default = links_file()
        chosen = Path(link_file) if link_file is not None else default
        files: list[tuple[Path, str]] = []
        for path, graph in loading.project_files():
            if path.resolve() == default.resolve():
                continue
            files.append((path, graph))
        if chosen.exists():
            files.append((chosen, WIKIDATA_GRAPH))
        graph = cls(loading.load_store(files), chosen)
        graph.check_link_file(require_links=require_links and chosen.exists())
        return graph

    def check_link_file(self, *, require_links: bool) -> None:
        """Raise :class:`InputError` for a link that is no item IRI, or (``require_links``) for
        a link file without any ``tkg:wikidataItem`` triple."""
        count = 0
        for quad in self.store.quads_for_pattern(
            None, ox.NamedNode(TKG_NS + "wikidataItem"), None, ox.NamedNode(WIKIDATA_GRAPH)
        ):
            count += 1
            value = quad.object
            ok = isinstance(value, ox.NamedNode) and value.value.startswith(_QID_IRI)
            if ok:
                number = value.value[len(_QID_IRI) :]
                ok = number.isdigit() and not number.startswith("0")
            if not ok:
                shown = value.value if isinstance(value, ox.NamedNode) else str(value)
                raise InputError(
                    f"{self.link_file}: the link of {short(quad.subject.value)} is {shown}, "
                    "not a Wikidata item IRI (http://www.wikidata.org/entity/Q…)"
                )
        if require_links and count == 0:
            raise InputError(
                f"{self.link_file}: holds no link (no tkg:wikidataItem triple); "
                "is the file empty or cut short?"
            )

    # -- reading ---------------------------------------------------------------------------

    def _objects(self, predicate: str) -> Iterable[ox.Quad]:
        return self.store.quads_for_pattern(None, ox.NamedNode(predicate), None, None)

    def superclasses(self, cls: str) -> set[str]:
        """Return ``cls`` and every class it is a subclass of (rdfs:subClassOf*)."""
        found = {cls}
        todo = [cls]
        while todo:
            current = todo.pop()
            for quad in self.store.quads_for_pattern(
                ox.NamedNode(current), ox.NamedNode(RDFS_SUBCLASS), None, None
            ):
                if isinstance(quad.object, ox.NamedNode) and quad.object.value not in found:
                    found.add(quad.object.value)
                    todo.append(quad.object.value)
        return found

    def entities(self) -> dict[str, Entity]:
        """Return every typed entity of the graph (IRIs under ``…/id/``), keyed by IRI."""
        if self._entities is not None:
            return self._entities
        found: dict[str, Entity] = {}

        def get(node: ox.NamedNode | ox.BlankNode) -> Entity | None:
            if not isinstance(node, ox.NamedNode) or entity_kind(node.value) is None:
                return None
            return found.setdefault(node.value, Entity(node.value))

        for quad in self._objects(RDF_TYPE):
            entity = get(quad.subject)
            if entity is not None and isinstance(quad.object, ox.NamedNode):
                entity.types.add(quad.object.value)
        for predicate, attribute in ((RDFS_LABEL, "labels"), (SKOS_ALT, "alt_labels")):
            for quad in self._objects(predicate):
                entity = (
                    found.get(quad.subject.value)
                    if isinstance(quad.subject, ox.NamedNode)
                    else None
                )
                if entity is not None and isinstance(quad.object, ox.Literal):
                    pair = (quad.object.value, quad.object.language or "")
                    if pair not in getattr(entity, attribute):
                        getattr(entity, attribute).append(pair)
        for quad in self._objects(TKG_NS + "wikipediaPage"):
            entity = (
                found.get(quad.subject.value) if isinstance(quad.subject, ox.NamedNode) else None
            )
            if (
                entity is not None
                and isinstance(quad.object, ox.NamedNode)
                and quad.object.value not in entity.pages
            ):
                entity.pages.append(quad.object.value)
        for quad in self._objects(TKG_NS + "wikidataItem"):
            if not isinstance(quad.subject, ox.NamedNode) or not isinstance(
                quad.object, ox.NamedNode
            ):
                continue
            entity = found.get(quad.subject.value)
            if entity is None:  # linked but untyped: still an entity of the graph
                entity = found.setdefault(quad.subject.value, Entity(quad.subject.value))
            if quad.object.value not in entity.items:
                entity.items.append(quad.object.value)
        for record in self.rejections():
            entity = found.get(record.entity or "")
            if entity is not None and record.item and record.item.startswith(WD):
                entity.rejected.setdefault(record.item, record.reason)
        for entity in found.values():
            entity.labels.sort(key=lambda pair: (pair[1].lower(), pair[0]))
            entity.alt_labels.sort(key=lambda pair: (pair[1].lower(), pair[0]))
            entity.pages.sort()
            entity.items.sort(key=lambda iri: int(qid(iri)[1:]) if qid(iri)[1:].isdigit() else 0)
            entity.rejected = dict(sorted(entity.rejected.items()))
        self._entities = dict(sorted(found.items()))
        return self._entities

    def entity(self, name: str) -> Entity:
        """Return an entity by IRI or short name (``person:zhou-enlai``)."""
        iri = name
        if ":" in name and not name.startswith(("http://", "https://")):
            kind, _, slug = name.partition(":")
            iri = f"{ID}{kind}/{slug}"
        entities = self.entities()
        if iri not in entities:
            raise InputError(f"no entity {name!r} in the graph")
        return entities[iri]

    def linked(self) -> list[Entity]:
        """Return the entities that have at least one Wikidata item."""
        return [e for e in self.entities().values() if e.items]

    def linkable(self, entity: Entity) -> bool:
        """Whether an entity is expected to have a Wikidata item.

        Its kind is one of LINKABLE_KINDS, it is not a step of a treaty's own lifecycle (a
        signing or an entry into force has no item of its own on Wikidata), and it is not a
        capacity (the role someone acted in on one occasion, which keeps an office/ IRI).
        """
        if not entity.linkable:
            return False
        unlinkable = (TKG_NS + "TreatyEvent", TKG_NS + "Capacity")
        return not any(
            kind in self.superclasses(cls) for cls in entity.types for kind in unlinkable
        )

    def unlinked(self) -> list[Entity]:
        """Return the linkable entities (see :meth:`linkable`) that have no Wikidata item."""
        return [e for e in self.entities().values() if not e.items and self.linkable(e)]

    def link_records(self) -> list[LinkRecord]:
        """Return every ``tkg:WikidataLink`` record, sorted by IRI."""
        records = []
        link_class = ox.NamedNode(TKG_NS + "WikidataLink")
        subjects = {
            q.subject.value
            for q in self.store.quads_for_pattern(None, ox.NamedNode(RDF_TYPE), link_class, None)
            if isinstance(q.subject, ox.NamedNode)
        }
        for subject in sorted(subjects):
            values: dict[str, list[str]] = defaultdict(list)
            for quad in self.store.quads_for_pattern(ox.NamedNode(subject), None, None, None):
                values[quad.predicate.value].append(quad.object.value)
            records.append(
                LinkRecord(
                    subject,
                    (values.get(TKG_NS + "linkedEntity") or [None])[0],
                    (values.get(TKG_NS + "linkedItem") or [None])[0],
                    (values.get(TKG_NS + "method") or [None])[0],
                    tuple(sorted(values.get(TKG_NS + "evidenceUrl", []))),
                )
            )
        return records

    def rejections(self) -> list[Rejection]:
        """Return every ``tkg:RejectedWikidataLink`` record, sorted by IRI."""
        records = []
        record_class = ox.NamedNode(TKG_NS + "RejectedWikidataLink")
        subjects = {
            q.subject.value
            for q in self.store.quads_for_pattern(None, ox.NamedNode(RDF_TYPE), record_class, None)
            if isinstance(q.subject, ox.NamedNode)
        }
        for subject in sorted(subjects):
            values: dict[str, list[ox.Term]] = defaultdict(list)
            for quad in self.store.quads_for_pattern(ox.NamedNode(subject), None, None, None):
                values[quad.predicate.value].append(quad.object)
            reasons = sorted(
                values.get(TKG_NS + "rejectionReason", []),
                key=lambda t: (getattr(t, "language", "") or "") != "en",
            )
            records.append(
                Rejection(
                    subject,
                    next((t.value for t in values.get(TKG_NS + "rejectedEntity", [])), None),
                    next((t.value for t in values.get(TKG_NS + "rejectedItem", [])), None),
                    reasons[0].value if reasons else "",
                    tuple(sorted(t.value for t in values.get(TKG_NS + "evidenceUrl", []))),
                )
            )
        return records

    def wikidata_properties(self) -> dict[str, str]:
        """Return ``{treatykg property IRI: wdt:P… IRI}`` from the ontology's annotations."""
        mapping = {}
        for quad in self._objects(TKG_NS + "wikidataProperty"):
            if isinstance(quad.subject, ox.NamedNode) and isinstance(quad.object, ox.NamedNode):
                mapping[quad.subject.value] = quad.object.value
        return dict(sorted(mapping.items()))

    def graph_of(self, subject: str, predicate: str, obj: ox.NamedNode | ox.Literal) -> list[str]:
        """Return the named graphs that hold one triple."""
        return sorted(
            q.graph_name.value
            for q in self.store.quads_for_pattern(
                ox.NamedNode(subject), ox.NamedNode(predicate), obj, None
            )
            if isinstance(q.graph_name, ox.NamedNode)
        )


# -- writing ---------------------------------------------------------------------------------


def turtle_string(text: str) -> str:
    """Return ``text`` as a Turtle string literal (double quotes, escapes).

    >>> turtle_string('say "hi"\\n')
    '"say \\\\"hi\\\\"\\\\n"'
    """
    escaped = (
        text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    )
    return f'"{escaped}"'


def iri_ref(iri: str) -> str:
    """Return ``<iri>`` after checking it is a valid absolute IRI."""
    try:
        ox.NamedNode(iri)
    except ValueError as error:
        raise InputError(f"not a valid IRI: {iri!r}: {error}") from None
    if any(ch in iri for ch in '<>"{}|^`\\ '):
        raise InputError(f"not a valid IRI: {iri!r}")
    return f"<{iri}>"


@dataclass(frozen=True)
class NewLink:
    """A link to add to the link file, with its evidence."""

    entity: str
    item: str
    evidence_url: str
    evidence_quote: str
    retrieved: str  # YYYY-MM-DD
    method: str

    def record_iri(self, taken: set[str]) -> str:
        """Return ``link:<slug>`` (``link:<kind>-<slug>`` if the plain one is taken)."""
        slug = entity_slug(self.entity)
        for candidate in (slug, f"{entity_kind(self.entity)}-{slug}"):
            iri = f"{ID}link/{candidate}"
            if iri not in taken:
                return iri
        number = 2
        while f"{ID}link/{slug}-{number}" in taken:
            number += 1
        return f"{ID}link/{slug}-{number}"

    def turtle(self, record: str) -> str:
        """Return the Turtle block for this link (full IRIs, so any prefixes will do)."""
        return (
            f"{iri_ref(self.entity)} <{TKG_NS}wikidataItem> {iri_ref(self.item)} .\n"
            f"{iri_ref(record)} a <{TKG_NS}WikidataLink> ;\n"
            f"    <{TKG_NS}linkedEntity> {iri_ref(self.entity)} ;\n"
            f"    <{TKG_NS}linkedItem> {iri_ref(self.item)} ;\n"
            f"    <{TKG_NS}evidenceUrl> {iri_ref(self.evidence_url)} ;\n"
            f"    <{TKG_NS}evidenceQuote> {turtle_string(self.evidence_quote)} ;\n"
            f"    <{TKG_NS}retrieved> {turtle_string(self.retrieved)}^^<{XSD}date> ;\n"
            f"    <{TKG_NS}method> {turtle_string(self.method)} .\n"
        )


def render_new_links(links: list[NewLink], taken: set[str], heading: str) -> str:
    """Return the Turtle text that appends ``links`` (empty string for none)."""
    if not links:
        return ""
    taken = set(taken)
    blocks = [f"# {heading}\n"]
    for link in links:
        record = link.record_iri(taken)
        taken.add(record)
        blocks.append(link.turtle(record))
    return "\n".join(blocks)


def append_atomically(path: Path, addition: str) -> None:
    """Append Turtle text to ``path`` so that the file is never left half-written.

    The whole new file is written to a temporary file in the same folder, parsed by
    pyoxigraph (a syntax error aborts and leaves ``path`` untouched), flushed to disk and
    renamed over ``path`` with ``os.replace``, which is atomic on POSIX and Windows.
    """
    path = Path(path)
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    separator = "" if not old or old.endswith("\n\n") else ("\n" if old.endswith("\n") else "\n\n")
    text = old + separator + addition
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".ttl", dir=path.parent)
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        loading.parse_file(temp)  # raises ParseError: the old file stays as it was
        if path.exists():
            os.chmod(temp, path.stat().st_mode & 0o777)
        os.replace(temp, path)
    finally:
        if temp.exists():
            temp.unlink()
