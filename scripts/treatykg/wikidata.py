"""Checking, resolving, suggesting and comparing the graph's links to Wikidata.

Four operations, each returning a report that the command line prints as a table or as JSON:

- :func:`check` asks the endpoint for each linked item's labels (en, zh, ru), aliases,
  "instance of" values and redirect, and reports a label that matches ours in none of its names
  in any one language both sides have (``label-mismatch (zh)`` even when en fits, with both
  labels), types that do not fit or are never a link target, redirected or missing items, two
  entities linked to one item, one entity linked to two items, links without a record, links to
  an item the graph records as rejected for the entity, and unlinked entities.
- :func:`resolve` finds the items of unlinked entities through their Chinese Wikipedia page
  (the sitelink ``schema:about``/``schema:isPartOf``/``schema:name``), compares labels and
  types, and returns the accepted links; :func:`write_links` appends them to the link file. A
  label mismatch, a type that does not fit or cannot be judged, an ambiguity or a rejected item
  is reported and never written.
- :func:`suggest` proposes ranked candidate items by label, with their types and descriptions;
  misfits and rejected items rank last. It never writes.
- :func:`diff` maps the graph's statements to Wikidata properties (the ``tkg:wikidataProperty``
  annotations of ``ontology/alignments.ttl``), compares them with the endpoint's truthy
  statements and lists what Wikidata lacks or holds differently; :func:`quickstatements` turns
  the missing ones into QuickStatements lines, only where the source is of a kind Wikidata
  accepts and no item involved is a doubtful link.

Types: the table ``graph/wikidata/type-table.tsv`` (:func:`load_type_rules`) maps our classes to
the Wikidata classes an item may be an instance of (``?item wdt:P31/wdt:P279* ?class``) and lists
the kinds that are never a link target (disambiguation pages, categories, given names …).

Labels: both sides are NFC-normalised and trimmed (spaces, U+3000, no-break spaces); Chinese is
compared in simplified script (OpenCC ``t2s``), so 大連 and 大连 are one name.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import functools
import re
import unicodedata
import urllib.parse
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyoxigraph as ox

from treatykg import paths
from treatykg.errors import InputError
from treatykg.namespaces import TKG_NS, WD
from treatykg.wikidata_client import SparqlClient, Term
from treatykg.wikidata_links import (
    Entity,
    LocalGraph,
    NewLink,
    append_atomically,
    item_iri,
    lang_group,
    qid,
    render_new_links,
    short,
    wikipedia_title,
)

SIMILARITY_THRESHOLD = 0.85
"""Two labels "match" when their similarity (see :func:`similarity`) reaches this."""

LANGUAGES = ("en", "zh", "ru")
BATCH = 50
"""Items per query: keeps each request small enough for the public endpoint."""

_PREFIXES = """PREFIX wd: <http://www.wikidata.org/entity/>
PREFIX wdt: <http://www.wikidata.org/prop/direct/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX schema: <http://schema.org/>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
"""
# Wikidata's RDF uses http://schema.org/ (not https) for descriptions and sitelinks.
SCHEMA = "http://schema.org/"


# -- the type table -----------------------------------------------------------------------------

NEVER = "never"
"""The ``our_class`` of a type-table row whose Wikidata class is never a link target."""

HUMAN = WD + "Q5"
"""Wikidata's class "human": only a ``tkg:Person`` may be linked to an instance of it."""


def type_table_file() -> Path:
    """Return the project's type table, ``graph/wikidata/type-table.tsv``."""
    return paths.graph_dir() / "wikidata" / "type-table.tsv"


@dataclass(frozen=True)
class TypeRule:
    """Our class → a Wikidata class an item of ours may be an instance of (P31/P279*).

    ``our_class`` is :data:`NEVER` for a kind of item that is never a link target.
    """

    our_class: str
    wikidata_class: str
    label: str
    evidence: str
    quote: str = ""

    @property
    def never(self) -> bool:
        return self.our_class == NEVER


def load_type_rules(path: Path | str | None = None) -> tuple[TypeRule, ...]:
    """Read a type table (TSV): ``our_class  wikidata_class  label  evidence  quote``.

    Classes may be full IRIs or ``tkg:Name`` / ``wd:Q…``; ``never`` as our class lists a kind of
    item that is never a link target. Lines starting with ``#`` and the header are skipped.
    Without ``path``, the project's table (:func:`type_table_file`).
    """
    path = Path(path) if path is not None else type_table_file()
    rules = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise InputError(f"cannot read type table {path}: {error.strerror or error}") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#") or line.startswith("our_class\t"):
            continue
        cells = line.split("\t")
        if len(cells) < 2:
            raise InputError(f"{path}:{number}: expected 'our_class<TAB>wikidata_class[…]'")
        ours = cells[0].strip()
        if ours.startswith("tkg:"):
            ours = TKG_NS + ours[4:]
        elif ours != NEVER and not ours.startswith(("http://", "https://")):
            raise InputError(
                f"{path}:{number}: {ours!r} is neither a class (tkg:Name or an IRI) nor 'never'"
            )
        theirs = cells[1].strip()
        try:
            theirs = item_iri(theirs[3:] if theirs.startswith("wd:") else theirs)
        except InputError as error:
            raise InputError(f"{path}:{number}: {error}") from None
        label = cells[2].strip() if len(cells) > 2 else qid(theirs)
        evidence = cells[3].strip() if len(cells) > 3 else ""
        quote = cells[4].strip() if len(cells) > 4 else ""
        rules.append(TypeRule(ours, theirs, label, evidence, quote))
    if not rules:
        raise InputError(f"{path}: the type table has no rows")
    return tuple(rules)


@functools.cache
def default_type_rules() -> tuple[TypeRule, ...]:
    """Return the project's type table, read once."""
    return load_type_rules()


def _rules(rules: Sequence[TypeRule] | None) -> Sequence[TypeRule]:
    return default_type_rules() if rules is None else rules


# -- label similarity -------------------------------------------------------------------------

_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


@functools.cache
def _opencc(config: str):
    import opencc  # imported on first use: only Chinese labels need it

    return opencc.OpenCC(config)


def to_simplified(text: str) -> str:
    """Return ``text`` with traditional Chinese characters converted to simplified (OpenCC).

    >>> to_simplified("中蘇邊界衝突")
    '中苏边界冲突'
    """
    return _opencc("t2s").convert(text) if _has_han(text) else text


def to_traditional(text: str) -> str:
    """Return ``text`` with simplified Chinese characters converted to traditional (OpenCC)."""
    return _opencc("s2t").convert(text) if _has_han(text) else text


def _has_han(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in text)


def clean_label(text: str) -> str:
    """Return a label NFC-normalised, without leading or trailing white space.

    White space includes U+3000 (ideographic space) and U+00A0 (no-break space).

    >>> clean_label("Lu\\u0308shunkou\\u3000 ") == "Lüshunkou"
    True
    """
    return unicodedata.normalize("NFC", text).strip()


def normalise(text: str) -> str:
    """Return ``text`` folded for comparison: simplified script, NFKC, case-folded, punctuation
    and spaces removed.

    >>> normalise("People's Republic  of China")
    'peoplesrepublicofchina'
    >>> normalise("安德烈·维辛斯基")
    '安德烈维辛斯基'
    >>> normalise("大連") == normalise("大连")
    True
    """
    folded = unicodedata.normalize("NFKC", to_simplified(clean_label(text))).casefold()
    return _NOT_WORD.sub("", folded)


def similarity(ours: str, theirs: str) -> float:
    """Return how alike two labels are, from 0 to 1.

    The ratio of difflib's longest matching blocks on the normalised strings; a label that
    begins the other (``武汉`` and ``武汉市``, ``Republic of China`` and ``Republic of China
    (1912–1949)``) scores at least 0.85. Only a prefix counts: "Republic of China" inside
    "People's Republic of China" is a different state.

    >>> similarity("Zhou Enlai", "Zhou Enlai")
    1.0
    >>> similarity("武汉", "武汉市")
    0.85
    >>> similarity("Mao Zedong", "Joseph Stalin") < 0.5
    True
    """
    a, b = normalise(ours), normalise(theirs)
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    score = difflib.SequenceMatcher(None, a, b).ratio()
    shorter, longer = sorted((a, b), key=len)
    if len(shorter) >= 2 and longer.startswith(shorter):
        score = max(score, 0.85)
    return round(score, 3)


@dataclass
class LanguageMatch:
    """The best match of our names against an item's names in one language."""

    language: str
    score: float
    ours: str  # our name that matched best
    theirs: str  # their name that matched best
    our_label: str  # our label in that language, as shown to people
    their_label: str  # the item's label in that language

    @property
    def matches(self) -> bool:
        return self.score >= SIMILARITY_THRESHOLD


@dataclass
class LabelComparison:
    """Our names against an item's labels, language by language (only languages both have)."""

    languages: list[LanguageMatch]

    @property
    def per_language(self) -> dict[str, float]:
        return {m.language: m.score for m in self.languages}

    @property
    def mismatched(self) -> list[LanguageMatch]:
        return [m for m in self.languages if not m.matches]

    @property
    def matches(self) -> bool:
        """True when at least one language was compared and every one of them matches."""
        return bool(self.languages) and not self.mismatched

    @property
    def weakest(self) -> LanguageMatch | None:
        """The language with the lowest score (the one to show)."""
        return min(self.languages, key=lambda m: (m.score, m.language), default=None)


def compare_labels(
    entity: Entity, item: ItemFacts, languages: Sequence[str] = LANGUAGES
) -> LabelComparison:
    """Compare an entity's names with an item's, in every language both sides have.

    Our side: labels and alternative labels. Their side: the item's label in that language
    (the plain tag, ``zh``, when it has one, else its variants) and its aliases. A vandalised
    ``zh`` label is therefore a mismatch even when ``en`` and a ``zh-hant`` label fit.
    """
    found = []
    for group in languages:
        ours = [clean_label(n) for n in entity.names(group)]
        theirs = [clean_label(n) for n in item.primary_names(group)]
        if not ours or not theirs:
            continue
        score, a, b = max(
            ((similarity(a, b), a, b) for a in ours for b in theirs), key=lambda t: t[0]
        )
        found.append(
            LanguageMatch(
                group, score, a, b, clean_label(entity.label(group)), clean_label(item.label(group))
            )
        )
    return LabelComparison(found)


# -- what the endpoint says about items ---------------------------------------------------------


@dataclass
class ItemFacts:
    """What the endpoint holds about one item."""

    iri: str
    labels: list[tuple[str, str]] = field(default_factory=list)  # (text, lang)
    aliases: list[tuple[str, str]] = field(default_factory=list)
    descriptions: list[tuple[str, str]] = field(default_factory=list)
    types: set[str] = field(default_factory=set)
    redirect: str | None = None
    exists: bool = False

    def names(self, group: str | None = None) -> list[str]:
        out: list[str] = []
        for text, tag in self.labels + self.aliases:
            if (group is None or lang_group(tag) == group) and text not in out:
                out.append(text)
        return out

    def primary_names(self, group: str) -> list[str]:
        """The label under the plain tag (``zh``) — or, without one, every variant's — and the
        aliases, in one language group."""
        plain = [text for text, tag in self.labels if tag.lower() == group]
        labels = plain or [text for text, tag in self.labels if lang_group(tag) == group]
        aliases = [text for text, tag in self.aliases if lang_group(tag) == group]
        out: list[str] = []
        for text in labels + aliases:
            if text not in out:
                out.append(text)
        return out

    def label(self, group: str) -> str:
        for preferred in {"zh": ("zh", "zh-hans", "zh-cn")}.get(group, (group,)):
            for text, tag in self.labels:
                if tag.lower() == preferred:
                    return text
        for text, tag in self.labels:
            if lang_group(tag) == group:
                return text
        return ""

    def description(self, group: str = "en") -> str:
        for text, tag in self.descriptions:
            if lang_group(tag) == group:
                return text
        return ""


def _values(iris: Iterable[str]) -> str:
    return " ".join(f"<{iri}>" for iri in iris)


def _chunks(values: Sequence, size: int = BATCH) -> Iterable[Sequence]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


_LANG_FILTER = " || ".join(f'LANGMATCHES(LANG(?value), "{lang}")' for lang in LANGUAGES)


def fetch_items(client: SparqlClient, items: Iterable[str]) -> dict[str, ItemFacts]:
    """Return labels, aliases, descriptions (en, zh, ru), P31 values and redirects of items."""
    wanted = sorted(set(items))
    facts = {iri: ItemFacts(iri) for iri in wanted}
    for chunk in _chunks(wanted):
        query = (
            _PREFIXES
            + f"""SELECT ?item ?what ?value WHERE {{
  VALUES ?item {{ {_values(chunk)} }}
  {{ ?item rdfs:label ?value . BIND("label" AS ?what) FILTER({_LANG_FILTER}) }}
  UNION {{ ?item skos:altLabel ?value . BIND("alias" AS ?what) FILTER({_LANG_FILTER}) }}
  UNION {{ ?item schema:description ?value . BIND("description" AS ?what) FILTER({_LANG_FILTER}) }}
  UNION {{ ?item wdt:P31 ?value . BIND("type" AS ?what) }}
  UNION {{ ?item owl:sameAs ?value . BIND("redirect" AS ?what) }}
}}"""
        )
        for row in client.select(query):
            item = row.get("item")
            what = row.get("what")
            value = row.get("value")
            if item is None or what is None or value is None or item.value not in facts:
                continue
            fact = facts[item.value]
            fact.exists = True
            pair = (value.value, (value.lang or "").lower())
            if what.value == "label" and pair not in fact.labels:
                fact.labels.append(pair)
            elif what.value == "alias" and pair not in fact.aliases:
                fact.aliases.append(pair)
            elif what.value == "description" and pair not in fact.descriptions:
                fact.descriptions.append(pair)
            elif what.value == "type" and value.is_iri:
                fact.types.add(value.value)
            elif what.value == "redirect" and value.is_iri:
                fact.redirect = value.value
    # Items with none of the above may still exist (an item with no label in en/zh/ru):
    # ask once, cheaply, which of them have any triple at all.
    silent = [iri for iri, fact in facts.items() if not fact.exists]
    for chunk in _chunks(silent):
        query = _PREFIXES + (
            f"SELECT DISTINCT ?item WHERE {{ VALUES ?item {{ {_values(chunk)} }} ?item ?p ?o . }}"
        )
        for row in client.select(query):
            if "item" in row and row["item"].value in facts:
                facts[row["item"].value].exists = True
    for fact in facts.values():
        fact.labels.sort(key=lambda p: (p[1], p[0]))
        fact.aliases.sort(key=lambda p: (p[1], p[0]))
        fact.descriptions.sort(key=lambda p: (p[1], p[0]))
    return facts


def fetch_class_labels(client: SparqlClient, classes: Iterable[str]) -> dict[str, str]:
    """Return the English label of each class item (for showing an item's type)."""
    wanted = sorted(set(classes))
    found: dict[str, str] = {}
    for chunk in _chunks(wanted):
        query = _PREFIXES + (
            f"SELECT ?class ?label WHERE {{ VALUES ?class {{ {_values(chunk)} }} "
            '?class rdfs:label ?label . FILTER(LANGMATCHES(LANG(?label), "en")) }'
        )
        for row in client.select(query):
            if "class" in row and "label" in row:
                found.setdefault(row["class"].value, row["label"].value)
    return found


def fetch_type_fit(
    client: SparqlClient, items: Iterable[str], classes: Iterable[str]
) -> dict[str, set[str]]:
    """Return, per item, which of ``classes`` it is an instance of (``wdt:P31/wdt:P279*``)."""
    wanted_items = sorted(set(items))
    wanted_classes = sorted(set(classes))
    fit: dict[str, set[str]] = {iri: set() for iri in wanted_items}
    if not wanted_items or not wanted_classes:
        return fit
    for chunk in _chunks(wanted_items):
        query = _PREFIXES + (
            f"SELECT DISTINCT ?item ?class WHERE {{\n"
            f"  VALUES ?item {{ {_values(chunk)} }}\n"
            f"  VALUES ?class {{ {_values(wanted_classes)} }}\n"
            f"  ?item wdt:P31/wdt:P279* ?class .\n}}"
        )
        for row in client.select(query):
            if "item" in row and "class" in row and row["item"].value in fit:
                fit[row["item"].value].add(row["class"].value)
    return fit


def our_classes(graph: LocalGraph, entity: Entity) -> set[str]:
    """Return the entity's classes and all their superclasses."""
    ours: set[str] = set()
    for cls in entity.types:
        ours |= graph.superclasses(cls)
    return ours


def expected_classes(
    graph: LocalGraph, entity: Entity, rules: Sequence[TypeRule] | None = None
) -> dict[str, str]:
    """Return ``{Wikidata class IRI: label}`` an item of ``entity`` may be an instance of."""
    ours = our_classes(graph, entity)
    return {r.wikidata_class: r.label for r in _rules(rules) if r.our_class in ours}


def never_classes(rules: Sequence[TypeRule] | None = None) -> dict[str, str]:
    """Return ``{Wikidata class IRI: label}`` of the kinds that are never a link target."""
    return {r.wikidata_class: r.label for r in _rules(rules) if r.never}


def _class_names(classes: Iterable[str], labels: dict[str, str]) -> str:
    return ", ".join(
        f"{labels[c]} ({qid(c)})" if c in labels else qid(c)
        for c in sorted(classes, key=lambda c: int(qid(c)[1:]) if qid(c)[1:].isdigit() else 0)
    )


def type_verdict(
    graph: LocalGraph,
    entity: Entity,
    fact: ItemFacts,
    table: dict[str, str],
    fitting: set[str],
    *,
    never: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
) -> tuple[bool | None, str]:
    """Judge an item's type for an entity: ``(fits, why)``; ``fits`` is None when unjudged.

    ``table`` holds the classes the item may be an instance of (:func:`expected_classes`),
    ``never`` the kinds never linked (:func:`never_classes`), ``fitting`` those of both it is an
    instance of (:func:`fetch_type_fit`). An item of a kind that is never a link target does
    not fit; nor does an instance of human for an entity that is no ``tkg:Person``, nor an item
    whose P31 leads to none of the expected classes. An item without P31, or an entity whose
    class has no row in the table, cannot be judged.
    """
    never = never or {}
    labels = {**(labels or {}), **table, **never}
    blocked = fitting & set(never)
    if blocked:
        return False, (
            f"{short(fact.iri)} is an instance of {_class_names(blocked, labels)}, "
            "a kind of item that is never a link target"
        )
    if HUMAN in fact.types and TKG_NS + "Person" not in our_classes(graph, entity):
        return (
            False,
            f"{entity.short} is no person, but {short(fact.iri)} is an instance of human (Q5)",
        )
    if not table:
        names = ", ".join(sorted(_prefixed(c) for c in entity.types)) or "no class"
        return None, f"type not judged: the type table has no row for {names}"
    if not fact.types:
        return None, f"type not judged: {short(fact.iri)} has no 'instance of' (P31)"
    if fitting & set(table):
        return True, "instance of " + _class_names(fitting & set(table), labels)
    return False, (
        f"expected an instance of {_class_names(table, labels).replace(', ', ' or ')}; "
        f"P31 is {_class_names(fact.types, labels)}"
    )


def type_summary(fact: ItemFacts, labels: dict[str, str]) -> str:
    """Return the item's P31 classes as ``label (Q…)``, or ``-``."""
    return _class_names(fact.types, labels) or "-"


def _prefixed(iri: str) -> str:
    return "tkg:" + iri[len(TKG_NS) :] if iri.startswith(TKG_NS) else iri


# -- check --------------------------------------------------------------------------------------


@dataclass
class Problem:
    """One finding of ``link check``. ``kind`` is one of PROBLEM_KINDS; ``language`` is set for
    a label mismatch in one language."""

    kind: str
    entity: str
    item: str
    detail: str
    score: float | None = None
    language: str | None = None

    @property
    def title(self) -> str:
        """``label-mismatch (zh)``, or the kind alone."""
        return f"{self.kind} ({self.language})" if self.language else self.kind


PROBLEM_KINDS = (
    "contradiction",
    "label-mismatch",
    "type-mismatch",
    "redirect",
    "missing-item",
    "duplicate-item",
    "several-items",
    "no-record",
    "bad-record",
)


@dataclass
class LinkStatus:
    """The outcome for one link: labels compared, type checked."""

    entity: str
    item: str
    label_score: float
    label_language: str | None
    ours: str
    theirs: str
    type_checked: bool
    type_fits: bool | None
    ok: bool
    type: str = "-"  # the item's P31 classes
    type_note: str = ""  # why the type fits, does not fit or was not judged


@dataclass
class CheckReport:
    endpoint: str
    links: list[LinkStatus]
    problems: list[Problem]
    unlinked: list[dict[str, str]]

    @property
    def failed(self) -> bool:
        return bool(self.problems)

    def doubtful(self) -> dict[str, str]:
        """Return ``{item QID: why}`` for every linked item that is not trustworthy: a problem
        was found for its link, or its type could not be judged."""
        found: dict[str, str] = {}
        for problem in self.problems:
            if problem.item.startswith("wd:"):
                for item in problem.item.split(", "):
                    found.setdefault(item[3:], f"{problem.title}: {problem.detail}")
        for status in self.links:
            if status.type_fits is None and status.item.startswith("wd:"):
                found.setdefault(status.item[3:], status.type_note or "type not judged")
        return found

    def to_json(self) -> dict:
        return {
            "endpoint": self.endpoint,
            "links": [asdict(link) for link in self.links],
            "problems": [asdict(problem) for problem in self.problems],
            "unlinked": self.unlinked,
            "summary": {
                "links": len(self.links),
                "problems": len(self.problems),
                "unlinked": len(self.unlinked),
                "type_not_judged": sum(1 for link in self.links if link.type_fits is None),
            },
        }


def _unlinked_rows(graph: LocalGraph) -> list[dict[str, str]]:
    return [
        {
            "entity": e.short,
            "label_en": e.label("en"),
            "label_zh": e.label("zh"),
            "wikipedia_page": e.pages[0] if e.pages else "",
        }
        for e in graph.unlinked()
    ]


def _label_problems(entity: Entity, item: str, comparison: LabelComparison) -> list[Problem]:
    """One ``label-mismatch`` per language whose names do not match, showing both labels."""
    if not comparison.languages:
        return [
            Problem(
                "label-mismatch",
                entity.short,
                short(item),
                "no label in a language both sides have (en, zh, ru)",
                0.0,
            )
        ]
    return [
        Problem(
            "label-mismatch",
            entity.short,
            short(item),
            f"ours {m.our_label or m.ours!r}, Wikidata {m.their_label or m.theirs!r} "
            + (
                f"(best match {m.score:.2f})"
                if (m.ours, m.theirs) == (m.our_label, m.their_label)
                else f"(best match {m.score:.2f}: {m.ours!r} / {m.theirs!r})"
            ),
            m.score,
            m.language,
        )
        for m in comparison.mismatched
    ]


def check(
    graph: LocalGraph, client: SparqlClient, rules: Sequence[TypeRule] | None = None
) -> CheckReport:
    """Check every link of the graph against the endpoint (see the module docstring)."""
    rules = _rules(rules)
    linked = graph.linked()
    problems: list[Problem] = []

    # Local checks first: they need no endpoint.
    by_item: dict[str, list[str]] = defaultdict(list)
    for entity in linked:
        for item in entity.items:
            by_item[item].append(entity.iri)
        if len(entity.items) > 1:
            problems.append(
                Problem(
                    "several-items",
                    entity.short,
                    ", ".join(short(i) for i in entity.items),
                    f"{entity.short} is linked to {len(entity.items)} items",
                )
            )
    for item, entities in sorted(by_item.items()):
        if len(entities) > 1:
            names = ", ".join(short(e) for e in entities)
            for entity in entities:
                problems.append(
                    Problem(
                        "duplicate-item",
                        short(entity),
                        short(item),
                        f"{short(item)} is linked from {len(entities)} entities: {names}",
                    )
                )
    records = graph.link_records()
    recorded = {(r.entity, r.item) for r in records}
    for entity in linked:
        for item in entity.items:
            if (entity.iri, item) not in recorded:
                problems.append(
                    Problem(
                        "no-record",
                        entity.short,
                        short(item),
                        "no tkg:WikidataLink record gives the evidence for this link",
                    )
                )
    for entity in linked:
        for item in sorted(set(entity.items) & set(entity.rejected)):
            problems.append(
                Problem(
                    "contradiction",
                    entity.short,
                    short(item),
                    f"a tkg:RejectedWikidataLink record (graph/wikidata/not-linked.ttl) "
                    f"rejects {short(item)} for {entity.short}: {entity.rejected[item]}",
                )
            )
    linked_pairs = {(e.iri, i) for e in linked for i in e.items}
    for record in records:
        if record.entity is None or record.item is None or not record.evidence_urls:
            problems.append(
                Problem(
                    "bad-record",
                    short(record.entity or record.iri),
                    short(record.item or ""),
                    f"{short(record.iri)} lacks tkg:linkedEntity, tkg:linkedItem "
                    "or tkg:evidenceUrl",
                )
            )
        elif (record.entity, record.item) not in linked_pairs:
            problems.append(
                Problem(
                    "bad-record",
                    short(record.entity),
                    short(record.item),
                    f"{short(record.iri)} records a link that the graph does not state",
                )
            )

    # Then what the endpoint says.
    all_items = sorted(by_item)
    facts = fetch_items(client, all_items)
    expected = {e.iri: expected_classes(graph, e, rules) for e in linked}
    never = never_classes(rules)
    classes = {cls for table in expected.values() for cls in table} | set(never)
    fit = fetch_type_fit(client, [i for i in all_items if facts[i].exists], classes)
    labels = fetch_class_labels(client, {t for f in facts.values() for t in f.types})

    statuses: list[LinkStatus] = []
    for entity in linked:
        for item in entity.items:
            fact = facts[item]
            ok = True
            if not fact.exists:
                problems.append(
                    Problem(
                        "missing-item",
                        entity.short,
                        short(item),
                        f"{short(item)} has no data on the endpoint (deleted, or never existed)",
                    )
                )
                statuses.append(
                    LinkStatus(entity.short, short(item), 0.0, None, "", "", False, None, False)
                )
                continue
            if fact.redirect:
                # A redirect has no labels or types of its own: the target is what to check.
                problems.append(
                    Problem(
                        "redirect",
                        entity.short,
                        short(item),
                        f"{short(item)} redirects to {short(fact.redirect)}; "
                        "link the target instead",
                    )
                )
                statuses.append(
                    LinkStatus(entity.short, short(item), 0.0, None, "", "", False, None, False)
                )
                continue
            comparison = compare_labels(entity, fact)
            label_problems = _label_problems(entity, item, comparison)
            if label_problems:
                problems.extend(label_problems)
                ok = False
            type_fits, why = type_verdict(
                graph,
                entity,
                fact,
                expected[entity.iri],
                fit.get(item, set()),
                never=never,
                labels=labels,
            )
            if type_fits is False:
                problems.append(Problem("type-mismatch", entity.short, short(item), why))
                ok = False
            weakest = comparison.weakest
            statuses.append(
                LinkStatus(
                    entity.short,
                    short(item),
                    weakest.score if weakest else 0.0,
                    weakest.language if weakest else None,
                    weakest.ours if weakest else "",
                    weakest.theirs if weakest else "",
                    type_fits is not None,
                    type_fits,
                    ok
                    and not any(
                        p.entity == entity.short
                        and p.kind in ("duplicate-item", "several-items", "no-record")
                        for p in problems
                    ),
                    type_summary(fact, labels),
                    why,
                )
            )
    order = {kind: n for n, kind in enumerate(PROBLEM_KINDS)}
    problems.sort(key=lambda p: (order.get(p.kind, 99), p.entity, p.item, p.language or ""))
    return CheckReport(client.endpoint, statuses, problems, _unlinked_rows(graph))


# -- resolve -------------------------------------------------------------------------------------


@dataclass
class Resolution:
    """The outcome for one unlinked entity with a Chinese Wikipedia page."""

    entity: str
    page: str
    title: str
    item: str | None
    status: str  # accepted | rejected | type-mismatch | label-mismatch | type-unjudged |
    #             ambiguous | taken | no-sitelink
    detail: str
    scores: dict[str, float] = field(default_factory=dict)


@dataclass
class ResolveReport:
    endpoint: str
    retrieved: str
    resolutions: list[Resolution]
    new_links: list[NewLink]
    written_to: str | None = None

    def to_json(self) -> dict:
        return {
            "endpoint": self.endpoint,
            "retrieved": self.retrieved,
            "resolutions": [asdict(r) for r in self.resolutions],
            "accepted": len(self.new_links),
            "written_to": self.written_to,
        }


def _sitelinks(client: SparqlClient, titles: Sequence[str]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for chunk in _chunks(sorted(set(titles))):
        values = " ".join(_sparql_literal(title, "zh") for title in chunk)
        query = _PREFIXES + (
            "SELECT ?title ?item WHERE {\n"
            f"  VALUES ?title {{ {values} }}\n"
            "  ?page schema:about ?item ;\n"
            "        schema:isPartOf <https://zh.wikipedia.org/> ;\n"
            "        schema:name ?title .\n}"
        )
        for row in client.select(query):
            if "title" in row and "item" in row and row["item"].value.startswith(WD):
                found[row["title"].value].add(row["item"].value)
    return found


def _sparql_literal(text: str, lang: str | None = None) -> str:
    escaped = (
        text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    )
    return f'"{escaped}"' + (f"@{lang}" if lang else "")


def resolve(
    graph: LocalGraph,
    client: SparqlClient,
    *,
    retrieved: str | None = None,
    entities: Sequence[str] | None = None,
    rules: Sequence[TypeRule] | None = None,
) -> ResolveReport:
    """Find items for unlinked entities through their zh.wikipedia sitelinks (nothing written).

    A sitelink is accepted only when the item is not rejected for the entity, is no redirect,
    its labels match ours in every language both sides have, and its type fits our class
    (:func:`type_verdict`): a type that does not fit *or cannot be judged* is never written.
    """
    rules = _rules(rules)
    retrieved = retrieved or dt.date.today().isoformat()
    candidates = graph.unlinked()
    if entities:
        wanted = {graph.entity(name).iri for name in entities}
        candidates = [e for e in candidates if e.iri in wanted]
    pages = [(e, page, wikipedia_title(page)) for e in candidates for page in e.pages]
    pages = [(e, page, title) for e, page, title in pages if title]
    sitelinks = _sitelinks(client, [title for _, _, title in pages])
    items = {item for found in sitelinks.values() for item in found}
    facts = fetch_items(client, items)
    expected = {e.iri: expected_classes(graph, e, rules) for e in candidates}
    never = never_classes(rules)
    classes = {c for table in expected.values() for c in table} | set(never)
    fit = fetch_type_fit(client, [i for i in items if facts[i].exists], classes)
    labels = fetch_class_labels(client, {t for f in facts.values() for t in f.types})
    taken = {item: e.iri for e in graph.linked() for item in e.items}

    resolutions: list[Resolution] = []
    proposals: dict[str, list[tuple[Resolution, Entity]]] = defaultdict(list)
    for entity, page, title in pages:
        found = sorted(sitelinks.get(title, set()))
        if len(found) != 1:
            status, detail = (
                (
                    "no-sitelink",
                    "no Wikidata item has this zh.wikipedia page as sitelink "
                    "(a redirect, a missing page, or a spelling variant)",
                )
                if not found
                else ("ambiguous", "several items claim this page: " + ", ".join(map(short, found)))
            )
            resolutions.append(Resolution(entity.short, page, title, None, status, detail))
            continue
        item = found[0]
        fact = facts.get(item) or ItemFacts(item)
        comparison = compare_labels(entity, fact)
        type_fits, why = type_verdict(
            graph, entity, fact, expected[entity.iri], fit.get(item, set()),
            never=never, labels=labels,
        )  # fmt: skip
        resolution = Resolution(
            entity.short, page, title, short(item), "accepted", "", comparison.per_language
        )
        if item in entity.rejected:
            resolution.status = "rejected"
            resolution.detail = (
                f"a tkg:RejectedWikidataLink record (graph/wikidata/not-linked.ttl) rejects "
                f"{short(item)} for {entity.short}: {entity.rejected[item]}"
            )
        elif fact.redirect:
            resolution.status, resolution.detail = (
                "ambiguous",
                f"{short(item)} redirects to {short(fact.redirect)}",
            )
        elif type_fits is False:
            resolution.status, resolution.detail = "type-mismatch", why
        elif not comparison.languages:
            resolution.status = "label-mismatch"
            resolution.detail = "no label in a language both sides have (en, zh, ru)"
        elif comparison.mismatched:
            resolution.status = "label-mismatch"
            resolution.detail = "; ".join(
                f"{m.language}: ours {m.our_label or m.ours!r}, Wikidata "
                f"{m.their_label or m.theirs!r} ({m.score:.2f})"
                for m in comparison.mismatched
            )
        elif type_fits is None:
            resolution.status, resolution.detail = "type-unjudged", why
        elif item in taken and taken[item] != entity.iri:
            resolution.status = "taken"
            resolution.detail = f"{short(item)} is already linked to {short(taken[item])}"
        else:
            resolution.detail = (
                "labels match: "
                + ", ".join(f"{m.language} {m.score:.2f}" for m in comparison.languages)
                + f"; {why}"
            )
        resolutions.append(resolution)
        if resolution.status == "accepted":
            proposals[entity.iri].append((resolution, entity))

    # One entity, several items through several pages; or one item for several entities.
    by_item: dict[str, list[str]] = defaultdict(list)
    for iri, found in proposals.items():
        for resolution, _ in found:
            by_item[resolution.item].append(iri)
    new_links: list[NewLink] = []
    for _iri, found in sorted(proposals.items()):
        items_here = sorted({r.item for r, _ in found})
        if len(items_here) > 1:
            for resolution, _ in found:
                resolution.status = "ambiguous"
                resolution.detail = "the entity's pages lead to several items: " + ", ".join(
                    items_here
                )
            continue
        item_short = items_here[0]
        if len(set(by_item[item_short])) > 1:
            others = ", ".join(sorted(short(e) for e in set(by_item[item_short])))
            for resolution, _ in found:
                resolution.status = "ambiguous"
                resolution.detail = f"{item_short} is the sitelink of several entities: {others}"
            continue
        resolution, entity = found[0]
        item = item_iri(item_short[3:])
        fact = facts[item]
        quote = (
            f"The zh.wikipedia page {resolution.title} is the sitelink of {qid(item)}; "
            f"Wikidata labels: {fact.label('zh') or '-'} (zh), {fact.label('en') or '-'} (en)"
        )
        new_links.append(NewLink(entity.iri, item, resolution.page, quote, retrieved, "sitelink"))
    order = {
        "accepted": 0,
        "rejected": 1,
        "type-mismatch": 2,
        "label-mismatch": 3,
        "type-unjudged": 4,
        "ambiguous": 5,
        "taken": 6,
        "no-sitelink": 7,
    }
    resolutions.sort(key=lambda r: (order.get(r.status, 9), r.entity, r.page))
    return ResolveReport(client.endpoint, retrieved, resolutions, new_links)


def write_links(graph: LocalGraph, new_links: Sequence[NewLink], retrieved: str) -> str:
    """Append ``new_links`` to the graph's link file atomically; return the text appended."""
    taken = {record.iri for record in graph.link_records()}
    text = render_new_links(
        list(new_links),
        taken,
        f"Resolved through zh.wikipedia sitelinks by `treatykg link resolve` on {retrieved}.",
    )
    if text:
        append_atomically(graph.link_file, text)
    return text


# -- suggest ---------------------------------------------------------------------------------------


@dataclass
class Candidate:
    item: str
    score: float
    matched: list[str]
    label_en: str
    label_zh: str
    description_en: str
    description_zh: str
    type_fits: bool | None
    rejected: bool = False  # a tkg:RejectedWikidataLink record rejects it for the entity
    type: str = "-"  # the item's P31 classes, ``label (Q…)``
    type_note: str = ""  # why the type fits, does not fit or was not judged


@dataclass
class Suggestion:
    entity: str
    label_en: str
    label_zh: str
    candidates: list[Candidate]


_TAG_VARIANTS = {
    "zh": ("zh", "zh-hans", "zh-cn", "zh-hant", "zh-tw", "zh-hk"),
    "en": ("en",),
    "ru": ("ru",),
}


def _needles(name: str, group: str) -> set[str]:
    """Return the spellings under which an item's label may equal ``name``.

    The endpoint compares literals exactly, so the lookup sends the name in NFC and NFD, with
    and without a trailing space, and Chinese in simplified and traditional script; the
    candidates it finds are compared again after normalising both sides.
    """
    base = clean_label(name)
    if not base:
        return set()
    scripts = {base}
    if group == "zh":
        scripts |= {to_simplified(base), to_traditional(base)}
    forms = {unicodedata.normalize(form, text) for text in scripts for form in ("NFC", "NFD")}
    return forms | {text + " " for text in forms}


def suggest(
    graph: LocalGraph,
    client: SparqlClient,
    *,
    entities: Sequence[str] | None = None,
    limit: int = 5,
    rules: Sequence[TypeRule] | None = None,
) -> list[Suggestion]:
    """Propose ranked candidate items for unlinked entities, found by label or alias.

    Labels are looked up in NFC and NFD, with and without a trailing space, and Chinese in both
    scripts (:func:`_needles`). Score: 1 for each language in which a Wikidata label equals one
    of our names, 0.5 where only an alias does, plus 0.5 when the item's type fits our class
    (see :func:`type_verdict`), minus 1 when it does not. Items rejected for the entity come
    last, marked ``rejected``; before them, items whose type does not fit. Nothing is written.
    """
    rules = _rules(rules)
    targets = graph.unlinked()
    if entities:
        wanted = {graph.entity(name).iri for name in entities}
        targets = [e for e in graph.entities().values() if e.iri in wanted]
    needles: dict[tuple[str, str], set[str]] = defaultdict(set)  # (text, tag) → entities
    for entity in targets:
        for group, tags in _TAG_VARIANTS.items():
            for name in entity.names(group):
                for text in _needles(name, group):
                    for tag in tags:
                        needles[(text, tag)].add(entity.iri)
    hits: dict[str, dict[str, dict[str, str]]] = defaultdict(lambda: defaultdict(dict))
    keys = sorted(needles)
    for chunk in _chunks(keys, 100):
        values = " ".join(_sparql_literal(text, tag) for text, tag in chunk)
        query = _PREFIXES + (
            "SELECT DISTINCT ?needle ?item ?how WHERE {\n"
            f"  VALUES ?needle {{ {values} }}\n"
            '  { ?item rdfs:label ?needle . BIND("label" AS ?how) }\n'
            '  UNION { ?item skos:altLabel ?needle . BIND("alias" AS ?how) }\n'
            '  FILTER(STRSTARTS(STR(?item), "http://www.wikidata.org/entity/Q"))\n}'
        )
        for row in client.select(query):
            needle, item, how = row.get("needle"), row.get("item"), row.get("how")
            if needle is None or item is None or how is None:
                continue
            key = (needle.value, (needle.lang or "").lower())
            for entity in needles.get(key, ()):
                group = lang_group(key[1]) or key[1]
                previous = hits[entity][item.value].get(group)
                if previous != "label":
                    hits[entity][item.value][group] = how.value
    all_items = {item for found in hits.values() for item in found}
    facts = fetch_items(client, all_items)
    expected = {e.iri: expected_classes(graph, e, rules) for e in targets}
    never = never_classes(rules)
    classes = {c for table in expected.values() for c in table} | set(never)
    fit = fetch_type_fit(client, all_items, classes)
    labels = fetch_class_labels(client, {t for f in facts.values() for t in f.types})

    suggestions = []
    for entity in targets:
        candidates = []
        for item, matched in hits.get(entity.iri, {}).items():
            score = sum(1.0 if how == "label" else 0.5 for how in matched.values())
            fact = facts.get(item) or ItemFacts(item)
            type_fits, why = type_verdict(
                graph, entity, fact, expected[entity.iri], fit.get(item, set()),
                never=never, labels=labels,
            )  # fmt: skip
            if type_fits is not None:
                score += 0.5 if type_fits else -1.0
            candidates.append(
                Candidate(
                    short(item),
                    round(score, 2),
                    sorted(f"{g}:{how}" for g, how in matched.items()),
                    fact.label("en"),
                    fact.label("zh"),
                    fact.description("en"),
                    fact.description("zh"),
                    type_fits,
                    item in entity.rejected,
                    type_summary(fact, labels),
                    why,
                )
            )
        candidates.sort(
            key=lambda c: (
                c.rejected,
                c.type_fits is False,
                -c.score,
                int(c.item[4:]) if c.item[4:].isdigit() else 0,
            )
        )
        suggestions.append(
            Suggestion(entity.short, entity.label("en"), entity.label("zh"), candidates[:limit])
        )
    return suggestions


# -- diff ----------------------------------------------------------------------------------------

_DATE_TYPES = {
    "http://www.w3.org/2001/XMLSchema#date": 11,
    "http://www.w3.org/2001/XMLSchema#dateTime": 11,
    "http://www.w3.org/2001/XMLSchema#gYearMonth": 10,
    "http://www.w3.org/2001/XMLSchema#gYear": 9,
}


SINGLE_VALUED_ITEM_PROPERTIES = frozenset({"P276"})
"""Item-valued properties with one value per item (location). Wikidata holding another value
for them "holds differently"; for the other item-valued properties (signatory, participant,
based on, part of, replaces …) a value it lacks is "missing" whatever else it holds. Dates and
strings are single-valued."""


@dataclass
class Statement:
    """One of our statements mapped to Wikidata: item, property, value, and its source."""

    entity: str
    property: str  # our property, prefixed
    wikidata_property: str  # P…
    item: str  # Q…
    value: str  # Q… for items, the lexical form for literals
    value_kind: str  # item | time | string
    precision: int | None
    source_graph: str  # the first named graph that states it
    status: str = ""  # same | missing | different
    wikidata_values: list[str] = field(default_factory=list)
    doubtful: str = ""  # why the item or the value is a doubtful link (never written)
    source_graphs: list[str] = field(default_factory=list)  # every named graph that states it


@dataclass
class DiffReport:
    endpoint: str
    statements: list[Statement]
    skipped: list[dict[str, str]]
    doubtful: dict[str, str] = field(default_factory=dict)  # QID → why the link is doubtful

    def to_json(self) -> dict:
        return {
            "endpoint": self.endpoint,
            "statements": [asdict(s) for s in self.statements],
            "skipped": self.skipped,
            "doubtful_links": self.doubtful,
            "summary": {
                status: sum(1 for s in self.statements if s.status == status)
                for status in ("same", "missing", "different")
            },
        }


def _our_statements(graph: LocalGraph) -> tuple[list[Statement], list[dict[str, str]]]:
    mapping = graph.wikidata_properties()
    items_of = {e.iri: e.items[0] for e in graph.linked() if len(e.items) == 1}
    statements: dict[tuple, Statement] = {}
    skipped: list[dict[str, str]] = []
    for entity_iri, item in sorted(items_of.items()):
        for prop, wdt in mapping.items():
            for quad in graph.store.quads_for_pattern(
                ox.NamedNode(entity_iri), ox.NamedNode(prop), None, None
            ):
                obj = quad.object
                graph_name = (
                    quad.graph_name.value if isinstance(quad.graph_name, ox.NamedNode) else ""
                )
                pid = wdt.rsplit("/", 1)[-1]
                base = dict(
                    entity=short(entity_iri),
                    property=_prefixed(prop),
                    wikidata_property=pid,
                    item=qid(item),
                    source_graph=graph_name,
                )
                if isinstance(obj, ox.NamedNode):
                    target = items_of.get(obj.value)
                    if target is None:
                        skipped.append(
                            {
                                "entity": short(entity_iri),
                                "property": _prefixed(prop),
                                "value": short(obj.value),
                                "reason": "the value has no (single) Wikidata link",
                            }
                        )
                        continue
                    statement = Statement(
                        **base, value=qid(target), value_kind="item", precision=None
                    )
                elif isinstance(obj, ox.Literal):
                    datatype = obj.datatype.value if obj.datatype else ""
                    if datatype in _DATE_TYPES:
                        statement = Statement(
                            **base,
                            value=obj.value,
                            value_kind="time",
                            precision=_DATE_TYPES[datatype],
                        )
                    else:
                        statement = Statement(
                            **base, value=obj.value, value_kind="string", precision=None
                        )
                else:
                    continue
                key = (statement.item, pid, statement.value)
                kept = statements.setdefault(key, statement)
                if graph_name not in kept.source_graphs:
                    kept.source_graphs.append(graph_name)
    return list(statements.values()), skipped


def _same_value(statement: Statement, theirs: Term) -> bool:
    if statement.value_kind == "item":
        return theirs.is_iri and theirs.value == WD + statement.value
    if statement.value_kind == "time":
        # Wikidata's truthy dates are xsd:dateTime at midnight; month and year precision are
        # written with day (and month) 01. Compare at our precision.
        value = theirs.value.lstrip("+")
        ours = statement.value
        if statement.precision == 9:
            return value[:4] == ours[:4]
        if statement.precision == 10:
            return value[:7] == ours[:7]
        return value[:10] == ours[:10]
    return theirs.value == statement.value


def diff(
    graph: LocalGraph, client: SparqlClient, rules: Sequence[TypeRule] | None = None
) -> DiffReport:
    """Compare our mapped statements with the endpoint's truthy ``wdt:`` statements.

    ``same``: Wikidata holds our value; ``different``: it holds another value of a
    single-valued property (see :data:`SINGLE_VALUED_ITEM_PROPERTIES`); ``missing``: it lacks
    our value. Every link is checked first (:func:`check`): a statement whose item or value is
    a doubtful link (a problem found, or its type not judged) is marked ``doubtful``.
    """
    doubtful = check(graph, client, rules).doubtful()
    statements, skipped = _our_statements(graph)
    pairs = sorted({(s.item, s.wikidata_property) for s in statements})
    theirs: dict[tuple[str, str], list[Term]] = defaultdict(list)
    for chunk in _chunks(pairs):
        values = " ".join(f"(wd:{item} wdt:{pid})" for item, pid in chunk)
        query = _PREFIXES + (
            f"SELECT ?item ?prop ?value WHERE {{\n  VALUES (?item ?prop) {{ {values} }}\n"
            "  ?item ?prop ?value .\n}"
        )
        for row in client.select(query):
            if {"item", "prop", "value"} <= set(row):
                key = (qid(row["item"].value), row["prop"].value.rsplit("/", 1)[-1])
                theirs[key].append(row["value"])
    for statement in statements:
        values = theirs.get((statement.item, statement.wikidata_property), [])
        statement.wikidata_values = sorted(
            qid(v.value) if v.is_iri and v.value.startswith(WD) else v.value for v in values
        )
        single = (
            statement.value_kind != "item"
            or statement.wikidata_property in SINGLE_VALUED_ITEM_PROPERTIES
        )
        reasons = [
            f"{q} is a doubtful link ({doubtful[q]})"
            for q in dict.fromkeys(
                [statement.item] + ([statement.value] if statement.value_kind == "item" else [])
            )
            if q in doubtful
        ]
        statement.doubtful = "; ".join(reasons)
        if any(_same_value(statement, v) for v in values):
            statement.status = "same"
        elif values and single:
            statement.status = "different"
        else:
            statement.status = "missing"
    order = {"missing": 0, "different": 1, "same": 2}
    statements.sort(key=lambda s: (order[s.status], s.entity, s.wikidata_property, s.value))
    return DiffReport(client.endpoint, statements, skipped, doubtful)


_URL_PROPERTIES = (
    "https://schema.org/url", "http://schema.org/url", "http://xmlns.com/foaf/0.1/page",
    "http://purl.org/dc/terms/source", "http://www.w3.org/ns/prov#hadPrimarySource",
    "http://www.w3.org/2000/01/rdf-schema#seeAlso", "http://purl.org/dc/terms/identifier",
)  # fmt: skip


def _values_of(graph: LocalGraph, subject: ox.NamedNode, prop: str) -> list[str]:
    return [
        q.object.value
        for q in graph.store.quads_for_pattern(subject, ox.NamedNode(prop), None, None)
    ]


REFERENCE_URL = "https://w3id.org/treatykg/id/concept/wikidata-reference-url"
"""How Wikidata takes a source kind: an S854 reference URL (a Wikipedia page: P143)."""
NOT_ACCEPTED = "https://w3id.org/treatykg/id/concept/wikidata-reference-not-accepted"
"""How Wikidata takes a source kind: not as a reference (mirrors, blogs, the editors' own)."""


@dataclass(frozen=True)
class SourceReference:
    """What a named graph's source gives a QuickStatements reference."""

    source: str  # the source IRI
    url: str  # its URL (the source IRI when it has none)
    retrieved: str | None  # when it was read
    kind: str | None  # its tkg:sourceKind
    use: str | None  # how Wikidata takes that kind (tkg:wikidataReference)
    project_item: str | None = None  # the Wikimedia project (P143) when the URL is one's page

    @property
    def accepted(self) -> bool:
        return self.use == REFERENCE_URL

    @property
    def unknown_wikipedia(self) -> bool:
        """A page of a Wikipedia whose project item is not known (P143 cannot be written)."""
        host = urllib.parse.urlsplit(self.url).hostname or ""
        return host.endswith(".wikipedia.org") and self.project_item is None


def wikimedia_projects(graph: LocalGraph) -> dict[str, str]:
    """Return ``{site IRI (https://zh.wikipedia.org/): QID}`` (``tkg:wikimediaProjectItem``)."""
    return {
        q.subject.value: qid(q.object.value)
        for q in graph.store.quads_for_pattern(
            None, ox.NamedNode(TKG_NS + "wikimediaProjectItem"), None, None
        )
        if isinstance(q.subject, ox.NamedNode) and isinstance(q.object, ox.NamedNode)
    }


def source_references(graph: LocalGraph) -> dict[str, SourceReference]:
    """Return ``{named graph IRI: SourceReference}``.

    The graph's source (``g:… tkg:graphSource source:…``) gives its URL through the first of
    :data:`_URL_PROPERTIES` that is an http(s) IRI (failing that, the source IRI itself), its
    date through ``tkg:retrieved`` (None when it has none), its kind through ``tkg:sourceKind``
    and, through the kind's ``tkg:wikidataReference``, how Wikidata takes it.
    """
    projects = wikimedia_projects(graph)
    found = {}
    for quad in graph.store.quads_for_pattern(
        None, ox.NamedNode(TKG_NS + "graphSource"), None, None
    ):
        source = quad.object
        if not isinstance(source, ox.NamedNode) or not isinstance(quad.subject, ox.NamedNode):
            continue
        urls = [
            url
            for prop in _URL_PROPERTIES
            for url in _values_of(graph, source, prop)
            if url.startswith(("http://", "https://"))
        ]
        dates = sorted(_values_of(graph, source, TKG_NS + "retrieved"))
        kinds = sorted(_values_of(graph, source, TKG_NS + "sourceKind"))
        uses = (
            sorted(_values_of(graph, ox.NamedNode(kinds[0]), TKG_NS + "wikidataReference"))
            if kinds
            else []
        )
        url = urls[0] if urls else source.value
        project = next((item for site, item in projects.items() if url.startswith(site)), None)
        found[quad.subject.value] = SourceReference(
            source.value,
            url,
            dates[-1] if dates else None,
            kinds[0] if kinds else None,
            uses[0] if uses else None,
            project,
        )
    return found


def _qs_time(value: str, precision: int) -> str:
    if precision == 9:
        return f"+{value[:4]}-00-00T00:00:00Z/9"
    if precision == 10:
        return f"+{value[:7]}-00T00:00:00Z/10"
    return f"+{value[:10]}T00:00:00Z/11"


@dataclass
class QuickStatements:
    """The lines to review and the missing statements held back, each with the reason."""

    text: str
    held_back: list[dict[str, str]]


def quickstatements(
    report: DiffReport, graph: LocalGraph, retrieved: str | None = None
) -> QuickStatements:
    """Return the missing statements as QuickStatements (v1, tab-separated) lines.

    A statement is written only when no item in it is a doubtful link and its source is of a
    kind Wikidata takes as a reference (``tkg:sourceKind`` → ``tkg:wikidataReference``
    ``concept:wikidata-reference-url``). Its reference is then S854 (reference URL) the source's
    URL — or, for a page of a Wikimedia project (a Wikipedia), S143 (imported from) that
    project's item — and S813 (retrieved) the date the source was read (``retrieved``, by
    default today, for a source without one). The rest are held back: "doubtful link" or
    "needs a better source". The lines are for an editor to review, never to run blindly.
    """
    retrieved = retrieved or dt.date.today().isoformat()
    references = source_references(graph)
    lines = []
    held_back = []
    for s in report.statements:
        if s.status != "missing":
            continue
        # Of the sources that state it, the first one Wikidata accepts; else the first one.
        stated_in = [references.get(g) for g in (s.source_graphs or [s.source_graph])]
        reference = next(
            (r for r in stated_in if r is not None and r.accepted and not r.unknown_wikipedia),
            stated_in[0],
        )
        what = {
            "item": s.item,
            "property": s.wikidata_property,
            "value": s.value,
            "entity": s.entity,
            "source_graph": s.source_graph,
            "source": short_source(reference.source) if reference else "",
        }
        if s.doubtful:
            held_back.append({**what, "reason": f"doubtful link: {s.doubtful}"})
            continue
        if reference is None or not reference.accepted:
            kind = (reference.kind or "").rsplit("/", 1)[-1] if reference else ""
            source = short_source(reference.source) if reference else s.source_graph
            held_back.append(
                {
                    **what,
                    "reason": "needs a better source: "
                    + (
                        f"{source} is of kind {kind.removeprefix('source-kind-')}, "
                        "which Wikidata does not take as a reference"
                        if kind
                        else f"{source} has no source kind"
                    ),
                }
            )
            continue
        if reference.unknown_wikipedia:
            held_back.append(
                {
                    **what,
                    "reason": f"needs a better source: {short_source(reference.source)} is a "
                    "Wikipedia page, to be imported from (P143) a Wikipedia whose item the graph "
                    "does not know (tkg:wikimediaProjectItem)",
                }
            )
            continue
        if s.value_kind == "item":
            value = s.value
        elif s.value_kind == "time":
            value = _qs_time(s.value, s.precision or 11)
        else:
            value = _qs_string(s.value)
        cite = (
            ["S143", reference.project_item]
            if reference.project_item
            else ["S854", _qs_string(reference.url)]
        )
        lines.append(
            "\t".join(
                [
                    s.item,
                    s.wikidata_property,
                    value,
                    *cite,
                    "S813",
                    f"+{reference.retrieved or retrieved}T00:00:00Z/11",
                ]
            )
        )
    return QuickStatements("".join(line + "\n" for line in lines), held_back)


def short_source(iri: str) -> str:
    """Return ``source:<slug>`` for a source IRI."""
    prefix = "https://w3id.org/treatykg/id/source/"
    return "source:" + iri[len(prefix) :] if iri.startswith(prefix) else iri


def _qs_string(text: str) -> str:
    return '"' + text.replace('"', "'") + '"'


# -- the evidence table --------------------------------------------------------------------------


def verified_rows(tsv: Path | str) -> dict[str, str]:
    """Return ``{slug: QID}`` for the rows of a research TSV whose status is ``verified``."""
    out = {}
    with open(tsv, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if (row.get("status") or "").strip() == "verified" and (row.get("qid") or "").strip():
                out[row["slug"].strip()] = row["qid"].strip()
    return out
