"""treatykg docs: the static site, built once for the module with the network blocked.

The browser tests drive Debian's Chromium with Playwright (one browser for the module). On CI
(CI=true) a missing Chromium fails them; elsewhere it skips them with the reason.
"""

from __future__ import annotations

import csv
import html.parser
import json
import os
import shutil
import socket
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pyoxigraph as ox
import pytest

from treatykg.catalogue import stored_queries
from treatykg.cli import main
from treatykg.loading import load_store
from treatykg.namespaces import ID
from treatykg.query_guard import QueryGuard
from treatykg.querying import is_federated
from treatykg.site import build_site, pictures
from treatykg.site.graphdata import GraphData, site_path
from treatykg.site.serving import SiteFiles, choose_suffix, is_sparql_path

EXPECTED = Path(__file__).parent / "expected"
TREATY = ID + "treaty/treaty-1950"
EXPIRY = ID + "event/treaty-1950-expiry"


class NetworkUsed(AssertionError):
    pass


@pytest.fixture(scope="module")
def attempts() -> list[str]:
    return []


@pytest.fixture(scope="module")
def site(tmp_path_factory, attempts) -> Path:
    """The site, built with every connection and name look-up refused and recorded."""

    def refuse(*args, **kwargs):
        attempts.append(repr(args[:2]))
        raise NetworkUsed(f"the site build tried the network: {args[:2]!r}")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", refuse)
        patch.setattr(socket.socket, "connect_ex", refuse)
        patch.setattr(socket, "getaddrinfo", refuse)
        patch.setattr(socket, "create_connection", refuse)
        report = build_site(tmp_path_factory.mktemp("site") / "site")
    return report.folder


@pytest.fixture(scope="module")
def data() -> GraphData:
    return GraphData(load_store())


def read(site: Path, path: str) -> str:
    return (site / path).read_text("utf-8")


# --- what is built ------------------------------------------------------------------------------


def test_the_site_builds_with_no_network(site, attempts):
    assert attempts == []
    assert (site / "index.html").is_file()
    # Nothing is loaded from another site: scripts, styles, images and frames are local.
    for page in site.rglob("*.html"):
        for tag in LinkParser.parse(page.read_text("utf-8")).resources:
            assert "://" not in tag and not tag.startswith("//"), (page, tag)
            assert tag.startswith("data:") or (page.parent / tag).is_file(), (page, tag)


def test_every_entity_has_a_page_and_its_rdf_at_the_path_of_its_iri(site, data):
    assert len(data.entities) > 150
    for iri in data.entities:
        path = site_path(iri)
        assert path == iri.removeprefix("https://w3id.org/treatykg/") + ".html"
        assert (site / path).is_file(), iri
    # The Turtle and JSON-LD hold the entity's own triples: its concise bounded description.
    for iri in (TREATY, EXPIRY, ID + "person/zhou-enlai"):
        stem = site / site_path(iri)[: -len(".html")]
        turtle = [q.triple for q in ox.parse(path=str(stem) + ".ttl", format=ox.RdfFormat.TURTLE)]
        jsonld = [
            q.triple for q in ox.parse(path=str(stem) + ".jsonld", format=ox.RdfFormat.JSON_LD)
        ]
        expected = set(data.description_triples(iri))
        assert set(turtle) == expected and set(jsonld) == expected
        assert {t.subject for t in turtle} == {ox.NamedNode(iri)}


def test_each_page_embeds_json_ld_about_its_entity(site, data):
    page = read(site, site_path(TREATY))
    block = page.split('<script type="application/ld+json">', 1)[1].split("</script>", 1)[0]
    described = json.loads(block)
    assert described["@id"] == TREATY
    assert "Legislation" in described["@type"] or "CreativeWork" in described["@type"]
    names = {n["@language"].lower(): n["@value"] for n in described["name"]}
    assert names["zh-hans"] == "中苏友好同盟互助条约"
    assert "https://zh.wikipedia.org/wiki/" in " ".join(described["sameAs"])
    linked = json.loads(
        read(site, site_path(ID + "person/andrey-vyshinsky"))
        .split('<script type="application/ld+json">', 1)[1]
        .split("</script>", 1)[0]
    )
    assert "http://www.wikidata.org/entity/Q155860" in linked["sameAs"]
    # and links to the entity's Turtle and JSON-LD
    assert 'href="../../id/treaty/treaty-1950.ttl"' in page
    assert 'href="../../id/treaty/treaty-1950.jsonld"' in page


def test_an_entity_page_shows_names_sources_ranks_and_contested_claims(site, data):
    page = read(site, site_path(EXPIRY))
    # every value sources give for the date, side by side, each with its rank and source
    cards = page.count('class="claim-card rank-')
    assert cards == len(
        {c.value for c in data.claims[(EXPIRY, "https://w3id.org/treatykg/ontology#date")]}
    )
    assert cards == 3
    assert "sources disagree" in page
    for text in ("11 April 1980", "February 1979", "16 February 1979"):
        assert text in page
    assert 'class="precision precision-month"' in page  # a month is shown as a month
    assert "rank-preferred" in page and "rank-normal" in page
    assert "Chinese Wikipedia article" in page  # its sources, named at the foot
    treaty = read(site, site_path(TREATY))
    for name in ("中苏友好同盟互助条约", "Советско-китайский договор"):
        assert name in treaty
    assert "rank-deprecated" in treaty  # Stalin and Mao as signatories, kept but deprecated
    vyshinsky = read(site, site_path(ID + "person/andrey-vyshinsky"))
    assert 'href="http://www.wikidata.org/entity/Q155860"' in vyshinsky
    assert "zh.wikipedia.org/wiki/" in treaty
    assert "Pointing here" in treaty and "Article 1" in treaty


def test_source_pages_show_their_kind_and_the_facts_resting_on_them(site, data):
    source = ID + "source/roc-law-database-treaty-1945"
    page = read(site, site_path(source))
    assert "Facts resting on this source" in page
    resting = data.facts_resting_on(source)
    assert resting and all(site_path(s) and f'href="../../{site_path(s)}"' in page for s in resting)
    kinds = data.values(source, "https://w3id.org/treatykg/ontology#sourceKind")
    index = read(site, "sources.html")
    for kind in kinds:
        assert data.label(kind.value) in index
    assert index.count("<tr>") == len(data.sources()) + 1


def test_every_stored_query_has_a_page_with_its_answer(site):
    queries = stored_queries()
    assert queries
    for query in queries:
        page = read(site, f"queries/{query.name}.html")
        assert query.header["question"].replace("'", "&#39;") in page or query.title in page
        if is_federated(query.text):
            assert "does not answer it" in page
    # a SELECT answer as a table: as many rows as the expected answer
    with (EXPECTED / "who-signed-the-treaty.csv").open(encoding="utf-8") as rows:
        expected = len(list(csv.reader(rows))) - 1
    page = read(site, "queries/who-signed-the-treaty.html")
    table = page.split('<table class="answer">', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr>") == expected + 1


def test_the_vocabulary_and_every_shape_have_pages(site):
    onto = read(site, "ontology/index.html")
    assert "pyLODE" in onto and 'id="Treaty"' in onto and "tkg-bar" in onto
    shapes = read(site, "shapes/index.html")
    names = [p.stem for p in (site / "shapes").glob("*.html") if p.stem != "index"]
    assert "TreatyShape" in names and len(names) > 15
    assert all(f'href="{name}.html"' in shapes for name in names)
    treaty = read(site, "shapes/TreatyShape.html")
    # what each property shape and SPARQL constraint checks, and its message
    assert "TreatyShape-party" in treaty and "At least two parties" in treaty
    assert "SPARQL constraint" in treaty and "article count agrees with the articles" in treaty


def test_the_timeline_draws_precision_periods_and_disputes(data):
    timeline = pictures.timeline(data, site_path)
    rows = {row.iri: row for row in timeline.rows}
    per_day = (timeline.right - timeline.left) / (
        (pictures.dt.date(1981, 1, 1) - pictures.dt.date(1945, 1, 1)).days
    )
    expiry = rows[EXPIRY]
    assert expiry.disputed
    widths = {m.text: (m.precision, m.width, m.alternative) for m in expiry.marks}
    assert widths["February 1979"][0] == "month" and widths["February 1979"][2]
    assert widths["February 1979"][1] == pytest.approx(28 * per_day)  # drawn as the month
    assert widths["11 April 1980"][1] == pytest.approx(per_day)  # a day as a day
    split = rows[ID + "event/sino-soviet-split"]
    assert split.kind == "period" and split.bar and split.clipped_right == "1989"
    assert rows[ID + "event/world-war-ii"].clipped_left == "1939"
    assert all(any(1945 <= int(m.text[-4:]) <= 1980 for m in r.marks) for r in timeline.rows)
    lean = rows[ID + "policy/lean-to-one-side"]
    assert lean.open_end and lean.note.endswith("no end date in the graph")


def test_the_map_places_every_place_with_coordinates_and_its_events(data):
    picture = pictures.map_picture(data, site_path)
    placed = {p.iri: p for p in picture.places}
    assert len(placed) == 6 and picture.land
    kremlin = placed[ID + "place/moscow-kremlin"]
    assert any("1950" in when for _h, _l, when in kremlin.events)
    beijing, moscow = placed[ID + "place/beijing"], placed[ID + "place/moscow"]
    assert moscow.x < beijing.x and moscow.y < beijing.y  # west and north of Beijing
    assert all(0 <= p.x <= picture.width and 0 <= p.y <= picture.height for p in picture.places)


def test_the_neighbourhood_holds_the_treaty_s_circle_without_overlaps(data):
    picture = pictures.neighbourhood(data, TREATY, site_path)
    groups = {n.group for n in picture.nodes}
    assert groups == {
        "Parties",
        "Signatories",
        "Places",
        "Articles",
        "Agreements",
        "Events",
        "Projects",
    }
    assert len([n for n in picture.nodes if n.group == "Articles"]) == 6
    boxes = [(n.x, n.y, n.x + n.width, n.y + 24) for n in picture.nodes]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)
    assert all(box[2] <= picture.width and box[3] <= picture.height for box in boxes)


def test_docs_refuses_a_folder_of_other_files_and_keeps_it(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine", "utf-8")
    assert main(["docs", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("treatykg: error: ") and "holds other files" in err
    assert len(err.splitlines()) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


# --- links --------------------------------------------------------------------------------------


class LinkParser(html.parser.HTMLParser):
    """The links (a, link) and resources (script, img, link rel=stylesheet) of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.resources: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        elif tag == "link" and attrs.get("href"):
            (self.resources if attrs.get("rel") == "stylesheet" else self.links).append(
                attrs["href"]
            )
        elif tag in ("script", "img", "iframe") and attrs.get("src"):
            self.resources.append(attrs["src"])

    @classmethod
    def parse(cls, text: str) -> LinkParser:
        parser = cls()
        parser.feed(text)
        return parser


def test_every_internal_link_of_the_whole_site_resolves(site):
    pages = {p: LinkParser.parse(p.read_text("utf-8")) for p in site.rglob("*.html")}
    checked = 0
    for page, parsed in pages.items():
        for href in parsed.links + parsed.resources:
            if "://" in href or href.startswith(("mailto:", "//", "data:")):
                continue
            target, _, fragment = href.partition("#")
            file = (page.parent / urllib.parse.unquote(target)).resolve() if target else page
            assert file.is_relative_to(site.resolve()), (page, href)
            assert file.is_file(), f"{page.relative_to(site)}: {href} is missing"
            if fragment and file.suffix == ".html" and file in pages:
                assert fragment in pages[file].ids, f"{page.relative_to(site)}: {href}"
            checked += 1
    assert len(pages) > 250 and checked > 5000


# --- serving ------------------------------------------------------------------------------------


def test_accept_headers_choose_the_format():
    assert choose_suffix(None) == ".html"
    assert choose_suffix("*/*") == ".html"
    assert choose_suffix("text/turtle;q=0.9, */*;q=0.1") == ".ttl"
    assert choose_suffix("application/ld+json") == ".jsonld"
    assert choose_suffix("text/turtle;q=0") is None
    assert is_sparql_path("/query?query=ASK%7B%7D") and is_sparql_path("/store")
    assert not is_sparql_path("/queries/index.html") and not is_sparql_path("/")


@pytest.mark.server
def test_serve_gives_the_site_and_the_sparql_endpoint_on_one_port(site, oxigraph_server):
    """The front of treatykg serve, as run_serve sets it up, before the shared test server."""
    guard = QueryGuard(timeout=30, site=SiteFiles(site)).start(oxigraph_server)
    try:
        base = guard.base_url

        def get(path: str, accept: str | None = None):
            request = urllib.request.Request(base + path)
            if accept:
                request.add_header("Accept", accept)
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, answer.headers, answer.read()

        status, headers, body = get("/")
        assert status == 200 and b"<h1>" in body and headers["Content-Type"].startswith("text/html")
        path = "/id/person/zhou-enlai"
        _s, headers, body = get(path, "text/turtle")
        assert headers["Content-Type"].startswith("text/turtle") and headers["Vary"] == "Accept"
        triples = [q.triple for q in ox.parse(body, format=ox.RdfFormat.TURTLE)]
        assert {t.subject.value for t in triples} == {ID + "person/zhou-enlai"}
        _s, headers, body = get(path, "application/ld+json")
        assert headers["Content-Type"] == "application/ld+json" and json.loads(body)
        browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        _s, headers, body = get(path, browser)
        assert headers["Content-Type"].startswith("text/html") and "周恩来" in body.decode()
        _s, headers, body = get("/ontology", "text/turtle")
        assert b"owl:Ontology" in body
        with pytest.raises(urllib.error.HTTPError) as refused:
            get(path, "image/png")
        assert refused.value.code == 406
        with pytest.raises(urllib.error.HTTPError) as missing:
            get("/id/person/nobody")
        assert missing.value.code == 404
        with pytest.raises(urllib.error.HTTPError) as outside:
            get("/../../etc/passwd")
        assert outside.value.code == 404
        # The SPARQL endpoint's URLs work through the same port.
        query = urllib.parse.quote("ASK {}")
        _s, headers, body = get(f"/query?query={query}", "application/sparql-results+json")
        assert json.loads(body)["boolean"] is True
        form = urllib.parse.urlencode({"query": "SELECT (COUNT(*) AS ?n) { VALUES ?x { 1 2 } }"})
        request = urllib.request.Request(
            base + "/query",
            data=form.encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/sparql-results+json",
            },
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            n = json.loads(answer.read())["results"]["bindings"][0]["n"]["value"]
        assert n == "2"
    finally:
        guard.stop()


# --- in a real browser --------------------------------------------------------------------------


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser():
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        executable = None
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium or Playwright is missing: .ci/run installs them")
        pytest.skip("Chromium (Debian's chromium package) or Playwright is not installed")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


def test_pages_render_in_chromium_without_console_errors(browser, site, screenshots):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    # The home page, a sample of entity pages (a treaty, a disputed event, a person, a source),
    # a query's answer and the three pictures.
    paths = [
        "index.html",
        site_path(TREATY),
        site_path(EXPIRY),
        site_path(ID + "person/zhou-enlai"),
        site_path(ID + "source/wikisource-communique-1950"),
        "queries/who-signed-the-treaty.html",
        "timeline.html",
        "map.html",
        "neighbourhood.html",
    ]
    sizes = {}
    for path in paths:
        page.goto((site / path).as_uri())
        page.screenshot(path=str(screenshots / (path.replace("/", "_") + ".png")))
        for picture in ("timeline", "map", "neighbourhood"):
            if path == f"{picture}.html":
                box = page.locator(f"svg#{picture}").bounding_box()
                sizes[picture] = (box["width"], box["height"])
        assert page.locator("h1").first.inner_text().strip(), path
    assert errors == [] and failed == []
    assert all(w > 500 and h > 300 for w, h in sizes.values()) and len(sizes) == 3, sizes
    assert len(list(screenshots.glob("*.png"))) == len(paths)
    # The collection's filter (the site's one script) works from a plain folder.
    page.goto((site / "browse.html").as_uri())
    page.fill("#filter", "周恩来")
    visible = page.locator(".filterable:not(.hidden)")
    assert visible.count() >= 1 and "Zhou Enlai" in visible.first.inner_text()
    # A link in the picture opens the entity's page.
    page.goto((site / "neighbourhood.html").as_uri())
    page.locator("svg#neighbourhood a").filter(has_text="Zhou Enlai").first.click()
    assert page.url.endswith("id/person/zhou-enlai.html")
    page.close()
