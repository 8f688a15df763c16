"""The source article, fact by fact: each one is in the named graph g:zhwiki.

The article is kept in docs/sources/ (CC BY-SA, as converted from Chinese Wikipedia). These tests
read it, not a copy of its facts: every page it links, every image it shows and the text of
every article of the treaty are looked up in the graph the article supports.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import pyoxigraph as ox
import pytest

from treatykg.loading import load_store

SOURCE = (
    Path(__file__).resolve().parents[1] / "docs" / "sources" / "zhwiki-sino-soviet-treaty-1950.md"
)
ZHWIKI = "https://w3id.org/treatykg/graph/zhwiki"
PREFIXES = """
PREFIX tkg: <https://w3id.org/treatykg/ontology#>
PREFIX treaty: <https://w3id.org/treatykg/id/treaty/>
PREFIX event: <https://w3id.org/treatykg/id/event/>
PREFIX source: <https://w3id.org/treatykg/id/source/>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
PREFIX dcterms: <http://purl.org/dc/terms/>
"""
# [text](target "wikilink"): a page of zh.wikipedia, or ../Page/<title>.md for the same.
WIKILINK = re.compile(r'\[([^\]]*)\]\(([^ )]+) "(?:wikilink|fig:[^"]*)"\)')


@pytest.fixture(scope="module")
def text() -> str:
    return SOURCE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def store() -> ox.Store:
    return load_store()


def _zhwiki_values(store: ox.Store, predicate: str) -> set[str]:
    query = f"SELECT ?o WHERE {{ GRAPH <{ZHWIKI}> {{ ?s <{predicate}> ?o }} }}"
    return {solution["o"].value for solution in store.query(query)}


def _ask(store: ox.Store, pattern: str) -> bool:
    return bool(store.query(f"{PREFIXES} ASK {{ GRAPH <{ZHWIKI}> {{ {pattern} }} }}"))


def _page_iri(target: str) -> str | None:
    """Return the zh.wikipedia IRI a link target names, as Wikidata writes sitelinks."""
    if target.startswith("../Page/"):
        title = target.removeprefix("../Page/").removesuffix(".md")
    elif target.startswith("https://zh.wikipedia.org/wiki/"):
        title = target.removeprefix("https://zh.wikipedia.org/wiki/")
    else:
        return None
    if title.startswith(("File:", ":s:")):
        return None  # images and Wikisource: tested below
    return "https://zh.wikipedia.org/wiki/" + quote(title, safe=":-_.()~")


def test_the_source_is_the_article(text):
    assert "中苏友好同盟互助条约" in text
    assert len(WIKILINK.findall(text)) > 40


def test_every_page_the_article_links_is_kept(text, store):
    pages = {_page_iri(target) for _label, target in WIKILINK.findall(text)} - {None}
    assert len(pages) >= 35
    kept = _zhwiki_values(store, "https://w3id.org/treatykg/ontology#wikipediaPage")
    assert sorted(pages - kept) == []


def test_every_image_the_article_shows_is_kept(text, store):
    files = {
        target.removeprefix("https://zh.wikipedia.org/wiki/File:")
        for _label, target in WIKILINK.findall(text)
        if target.startswith("https://zh.wikipedia.org/wiki/File:")
    }
    assert len(files) == 3
    kept = _zhwiki_values(store, "https://w3id.org/treatykg/ontology#commonsFileName")
    assert files <= kept


def _plain(markdown: str) -> str:
    """The text as read: links reduced to their words, markup and spaces dropped."""
    words = WIKILINK.sub(lambda m: m.group(1), markdown)
    return re.sub(r"\s+", "", words.replace("-{", "").replace("}-", ""))


def test_the_six_articles_keep_the_source_text(text, store):
    items = re.findall(
        r"^([1-6])\.\s+(.+)$", text.split("## 内容", 1)[1].split("另：", 1)[0], flags=re.M
    )
    assert [number for number, _ in items] == ["1", "2", "3", "4", "5", "6"]
    query = f"""{PREFIXES}
        SELECT ?n ?text WHERE {{ GRAPH <{ZHWIKI}> {{
            ?a tkg:articleOf treaty:treaty-1950 ; tkg:articleNumber ?n ; tkg:text ?text
            FILTER(lang(?text) = "zh-hans")
        }} }}"""
    graph_texts = {int(s["n"].value): s["text"].value for s in store.query(query)}
    assert graph_texts == {int(number): _plain(body) for number, body in items}


def test_the_supplementary_agreement_keeps_the_source_text(text, store):
    body = text.split("补充协定》**</big>", 1)[1].split("\\[1\\]", 1)[0]
    query = f"""{PREFIXES}
        SELECT ?text WHERE {{ GRAPH <{ZHWIKI}> {{
            ?agreement a tkg:SupplementaryAgreement ; tkg:text ?text
        }} }}"""
    (solution,) = list(store.query(query))
    assert solution["text"].value == _plain(body)


@pytest.mark.parametrize(
    ("fact", "pattern"),
    [
        ("signed 1950年2月14日", 'treaty:treaty-1950 tkg:dateSigned "1950-02-14"^^xsd:date'),
        ("in force 4月11日", 'event:treaty-1950-entry-into-force tkg:date "1950-04-11"^^xsd:date'),
        ("有效期为30年", 'treaty:treaty-1950 tkg:term "P30Y"^^xsd:duration'),
        (
            "1979年2月条约期满",
            "?c tkg:claimSubject event:treaty-1950-expiry ;"
            ' tkg:claimValue "1979-02"^^xsd:gYearMonth',
        ),
        ("drafted from the 1945 treaty", "treaty:treaty-1950 ?basedOn treaty:treaty-1945"),
        ("1945年8月", '?c tkg:claimValue "1945-08"^^xsd:gYearMonth'),
        ("Article 6: 批准书在北京互换", "event:treaty-1950-exchange-of-ratifications tkg:place ?p"),
        (
            "沈志华 1999",
            'source:zhwiki-article tkg:cites ?book . ?book dcterms:issued "1999"^^xsd:gYear',
        ),
    ],
    ids=lambda value: value if " " not in value or len(value) < 30 else None,
)
def test_a_fact_of_the_article_is_in_its_graph(store, fact, pattern):
    assert _ask(store, pattern), fact


def test_the_article_s_eight_categories_are_the_article_s_concepts(text, store):
    categories = re.findall(r"\[Category:([^\]]+)\]", text)
    assert len(categories) == 8
    query = f"""{PREFIXES}
        SELECT ?page WHERE {{ GRAPH <{ZHWIKI}> {{
            source:zhwiki-article tkg:inCategory ?concept . ?concept tkg:wikipediaPage ?page
        }} }}"""
    pages = {s["page"].value for s in store.query(query)}
    assert pages == {
        "https://zh.wikipedia.org/wiki/" + quote(f"Category:{c}", safe=":") for c in categories
    }


def test_the_copy_of_the_article_is_pinned_by_its_hash(store):
    """No revision id is recorded for the copy in docs/sources; its SHA-256 in the graph pins it."""
    import hashlib

    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()
    query = f"""{PREFIXES} PREFIX schema: <https://schema.org/>
        SELECT ?h WHERE {{ GRAPH ?g {{ source:zhwiki-article schema:sha256 ?h }} }}"""
    assert [s["h"].value for s in store.query(query)] == [digest]


TKG_NS = "https://w3id.org/treatykg/ontology#"


def test_every_researched_fact_has_a_status(store):
    """docs/research/external-facts.tsv says of every row whether it was used (naming the source
    whose graph holds it), rejected (and why) or left unverified."""
    path = SOURCE.parents[1] / "research" / "external-facts.tsv"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].split("\t") == ["topic", "fact", "value", "source_url", "quote", "status"]
    query = f"SELECT ?s WHERE {{ GRAPH ?g {{ ?g2 <{TKG_NS}graphSource> ?s }} }}"
    sources = {s["s"].value for s in store.query(query)}
    seen = set()
    for number, line in enumerate(lines[1:], start=2):
        cells = line.split("\t")
        assert len(cells) == 6, f"line {number}: {len(cells)} cells"
        status = cells[5]
        kind, _, why = status.partition(": ")
        assert kind in {"used", "rejected", "unverified"} and why, f"line {number}: {status!r}"
        seen.add(kind)
        if kind == "used":
            slug = re.match(r"source:([a-z0-9-]+)", why)
            assert slug and "https://w3id.org/treatykg/id/source/" + slug[1] in sources, line
    assert seen == {"used", "rejected", "unverified"}
