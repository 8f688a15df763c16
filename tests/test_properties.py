"""Property-based tests (hypothesis) of every command that takes input: whatever it is given, a
command ends with success or one line ``treatykg: error: …`` and a non-zero exit status, never a
traceback, never a hang, and never leaves half-written data behind.

The inputs are generated and then mutated: RDF in Turtle, TriG, N-Quads, N-Triples and JSON-LD
(from random quads, written by pyoxigraph, then cut, spliced and salted with the characters that
break parsers), SPARQL (from a small grammar, then mutated the same way), parameter values of
every type (quotes, angle brackets, new lines, ``}``, any Unicode, the lone surrogates that a
command line which is not UTF-8 turns into), links files, endpoint URLs and ``serve`` options.

The CLI is called in-process (``treatykg.cli.main``, its output captured): a child process per
case would cost a second each. Every call runs under a time limit (:data:`LIMIT`, enforced by
SIGALRM) and its duration is checked as well. No case reaches the internet: every connection and
name lookup that is not to this machine is refused (:func:`no_internet`); the stores asked are
local Oxigraph servers started by the session (``oxigraph_server``) or by this module.

A few examples per test run with the normal suite (derandomized, so the run is repeatable);
``make fuzz`` (``TREATYKG_FUZZ=1``) runs the large profile, more than 10,000 cases in all.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from treatykg import catalogue, querying, server
from treatykg.cli import main
from treatykg.loading import load_store, ontology_files, parse_file
from treatykg.namespaces import GRAPH
from treatykg.server import OxigraphServer

FUZZ = float(os.environ.get("TREATYKG_FUZZ") or 0)
"""The large profile (``make fuzz``: ``TREATYKG_FUZZ=1``) instead of the few examples of the
normal run; a fraction (``TREATYKG_FUZZ=0.1``) runs that share of its cases."""

LIMIT = 60.0 if FUZZ else 30.0
"""Seconds any one command may take (generous: the machine may be busy)."""

settings.register_profile(
    "normal",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile(
    "fuzz",
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
settings.load_profile("fuzz" if FUZZ else "normal")


def examples(normal: int, fuzz: int) -> settings:
    """Settings for a test: ``normal`` examples in the suite, ``fuzz`` in ``make fuzz``."""
    return settings(max_examples=max(1, round(fuzz * FUZZ)) if FUZZ else normal)


XSD = "http://www.w3.org/2001/XMLSchema#"
TKG = "https://w3id.org/treatykg/ontology#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
WD = "http://www.wikidata.org/entity/"

# --- running the command line in-process ----------------------------------------------------------


class Hang(BaseException):
    """A command ran past :data:`LIMIT` (raised by SIGALRM; not an Exception, so that no
    ``except Exception`` in the code under test swallows it)."""


@dataclass
class Outcome:
    argv: list[str]
    code: int
    out: str
    err: str
    seconds: float


def _alarm(_signum, _frame) -> None:
    raise Hang


def cli(*argv: str) -> Outcome:
    """Run ``treatykg ARGV`` in this process; return its exit status, output and duration."""
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="surrogateescape")
    stderr = io.StringIO()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, LIMIT)
    started = time.monotonic()
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                code = main(list(argv))
            except SystemExit as stop:  # argparse's own errors, --help
                code = stop.code if isinstance(stop.code, int) else 2
    except Hang:
        pytest.fail(f"treatykg {argv!r} ran for more than {LIMIT} s")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    seconds = time.monotonic() - started
    stdout.flush()
    out = stdout.buffer.getvalue().decode("utf-8", "replace")
    return Outcome(list(argv), code, out, stderr.getvalue(), seconds)


def clean(outcome: Outcome, codes: tuple[int, ...] = (0, 1, 2)) -> Outcome:
    """Assert the command ended well: a known exit status, one error line, no traceback."""
    what = f"treatykg {outcome.argv!r} -> {outcome.code}: {outcome.err!r}"
    assert "Traceback" not in outcome.err, what
    assert outcome.code in codes, what
    assert outcome.seconds < LIMIT, what
    if outcome.code == 2:
        lines = outcome.err.splitlines()
        assert lines, what
        if lines[0].startswith("usage:"):  # argparse: its usage, then one line that says why
            assert lines[-1].startswith("treatykg") and ": error: " in lines[-1], what
        else:
            assert len(lines) == 1 and lines[0].startswith("treatykg: error: "), what
    else:
        assert "treatykg: error:" not in outcome.err, what
    return outcome


# --- no internet ------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def _offline(no_internet: None) -> None:
    """Every test of this module runs with connections off this machine refused (conftest)."""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """One folder for the module's files (hypothesis runs many examples per test function)."""
    return tmp_path_factory.mktemp("properties")


# --- strategies: RDF ------------------------------------------------------------------------------


def _vocabulary() -> tuple[list[str], list[str]]:
    """The ontology's classes and properties, so that generated data meets the shapes."""
    classes, properties = set(), set()
    owl = "http://www.w3.org/2002/07/owl#"
    for path in ontology_files():
        for quad in ox.parse(path=path, format=ox.RdfFormat.TURTLE):
            if quad.predicate.value == RDF_TYPE and isinstance(quad.subject, ox.NamedNode):
                if quad.object.value == owl + "Class":
                    classes.add(quad.subject.value)
                elif quad.object.value in (owl + "ObjectProperty", owl + "DatatypeProperty"):
                    properties.add(quad.subject.value)
    return sorted(c for c in classes if c.startswith(TKG)), sorted(
        p for p in properties if p.startswith(TKG)
    )


CLASSES, PROPERTIES = _vocabulary()

# Text with the characters that break parsers and escapers; any other Unicode too.
NASTY = ['"', "'", "<", ">", "{", "}", "\\", "\n", "\r", "\t", "#", "@", "^^", ".", ";", ",", "`",
         "\\u0022", "\\U0000007D", '"""', "'''", "\x00", "\u2028", "\ufeff", "\U0001f600", "日本",
         "Москва", "%", "?", " ", "|", "^", "_:", "$", "(", ")", "[", "]"]  # fmt: skip
nasty_text = st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=4)), max_size=6).map(
    "".join
)
any_text = st.one_of(st.text(max_size=12), nasty_text)

# Lone surrogates: what Python makes of command-line bytes that are not UTF-8 ("\xff" -> "\udcff").
surrogates = st.lists(st.characters(min_codepoint=0xDC80, max_codepoint=0xDCFF), min_size=1).map(
    "".join
)


def _iri(text: str) -> ox.NamedNode | None:
    try:
        return ox.NamedNode(text)
    except (ValueError, UnicodeEncodeError):
        return None


IRI_CHARACTERS = st.characters(
    blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), blacklist_characters='<>"{}|^`\\'
)
project_iris = st.sampled_from(
    [
        "https://w3id.org/treatykg/id/treaty/treaty-1950",
        "https://w3id.org/treatykg/id/person/zhou-enlai",
        "https://w3id.org/treatykg/id/state/prc",
        "https://w3id.org/treatykg/id/place/moscow",
        WD + "Q148",
    ]
)
named_nodes = (
    st.one_of(
        project_iris,
        st.builds(lambda t: "https://example.org/" + urllib.parse.quote(t, safe="/#?=&"), any_text),
        st.builds(lambda t: "https://example.org/" + t, st.text(IRI_CHARACTERS, max_size=8)),
        st.builds(lambda t: "urn:x-" + t, st.text(IRI_CHARACTERS, max_size=8)),
    )
    .map(_iri)
    .filter(lambda node: node is not None)
)
blank_nodes = st.sampled_from(["b0", "b1", "b2"]).map(ox.BlankNode)
lang_tags = st.one_of(
    st.sampled_from(["en", "zh-Hans", "zh-Hant", "ru", "EN", "de-CH-1996", "x-private"]),
    st.from_regex(r"\A[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8}){0,2}\Z"),
)
# Lexical forms right and wrong: "abc"^^xsd:date is ill-typed and must be reported, not crash.
LEXICAL = {
    "date": ["1950-02-14", "1950-02-30", "abc", "1950-2-14", "-0044-03-15", "1950-02-14Z"],
    "gYear": ["1950", "195", "19x0", "-0001"],
    "gYearMonth": ["1950-02", "1950-13"],
    "integer": ["1", "-0", "12x", "", " 7", "99999999999999999999999999"],
    "boolean": ["true", "1", "yes"],
    "decimal": ["1.5", "1.", ".5", "1e3"],
    "dateTime": ["1950-02-14T12:00:00", "1950-02-14T25:00:00"],
}


def _tagged(text: str, lang: str) -> ox.Literal:
    try:
        return ox.Literal(text, language=lang)
    except ValueError:  # a tag pyoxigraph refuses to build; the mutations still make bad ones
        return ox.Literal(text, language="en")


def _typed(kind: str, lexical: str) -> ox.Literal:
    return ox.Literal(lexical, datatype=ox.NamedNode(XSD + kind))


literals = st.one_of(
    any_text.map(ox.Literal),
    st.builds(_tagged, any_text, lang_tags),
    st.sampled_from([(k, v) for k, values in LEXICAL.items() for v in values]).map(
        lambda pair: _typed(*pair)
    ),
    st.builds(_typed, st.sampled_from(list(LEXICAL)), st.text(max_size=6)),
)
subjects = st.one_of(named_nodes, blank_nodes)
predicates = st.one_of(
    st.sampled_from([*PROPERTIES, RDF_TYPE, RDFS_LABEL]).map(ox.NamedNode), named_nodes
)
objects = st.one_of(named_nodes, blank_nodes, literals, st.sampled_from(CLASSES).map(ox.NamedNode))
graph_names = st.one_of(st.just(ox.DefaultGraph()), named_nodes)


@st.composite
def quads(draw, *, named_graphs: bool) -> ox.Quad:
    subject = draw(subjects)
    if draw(st.booleans()):  # typed nodes make the shapes look at them
        return ox.Quad(
            subject, ox.NamedNode(RDF_TYPE), ox.NamedNode(draw(st.sampled_from(CLASSES)))
        )
    graph = draw(graph_names) if named_graphs else ox.DefaultGraph()
    return ox.Quad(subject, draw(predicates), draw(objects), graph)


# (suffix, pyoxigraph format, keeps graphs)
RDF_FILES = [
    (".ttl", ox.RdfFormat.TURTLE, False),
    (".nt", ox.RdfFormat.N_TRIPLES, False),
    (".trig", ox.RdfFormat.TRIG, True),
    (".nq", ox.RdfFormat.N_QUADS, True),
    (".jsonld", ox.RdfFormat.JSON_LD, True),
]
PREFIXES = {"tkg": TKG, "xsd": XSD, "wd": WD, "ex": "https://example.org/"}
# What mutations splice in: syntax, escapes, broken UTF-8, a byte order mark, NUL.
SPLICES = [s.encode() for s in NASTY] + [
    b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xef\xbb\xbf", b"@prefix : <", b"PREFIX x: <x:>",
    b"GRAPH <g> {", b'{"@context": {"@vocab": "', b'"@id": ', b"_:b0", b"a", b" . ", b"\\",
    b"^^xsd:date", b"@en", b"<https://example.org/a>", b"1e", b"[", b"( 1 2",
]  # fmt: skip


@st.composite
def mutated(draw, data: bytes) -> bytes:
    """Cut, splice, duplicate, truncate: up to four edits of ``data``."""
    for _ in range(draw(st.integers(0, 4))):
        size = len(data)
        at = draw(st.integers(0, size))
        kind = draw(st.sampled_from(["cut", "splice", "copy", "truncate", "byte"]))
        if kind == "cut":
            data = data[:at] + data[at + draw(st.integers(1, 12)) :]
        elif kind == "splice":
            piece = draw(st.one_of(st.sampled_from(SPLICES), st.binary(max_size=4)))
            data = data[:at] + piece + data[at:]
        elif kind == "copy":
            end = min(size, at + draw(st.integers(1, 40)))
            data = data[:at] + data[at:end] * 2 + data[end:]
        elif kind == "truncate":
            data = data[:at]
        elif size:
            data = data[: min(at, size - 1)] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
    return data


@st.composite
def rdf_files(draw, *, named_graphs: bool | None = None) -> tuple[str, bytes, bool]:
    """(suffix, content, mutated?): random quads written by pyoxigraph, perhaps mutated."""
    suffix, rdf_format, keeps_graphs = draw(st.sampled_from(RDF_FILES))
    with_graphs = keeps_graphs and (
        draw(st.integers(0, 3)) == 0 if named_graphs is None else named_graphs
    )
    drawn = draw(st.lists(quads(named_graphs=with_graphs), max_size=8))
    if keeps_graphs:
        data = ox.serialize(
            drawn, format=rdf_format, prefixes=PREFIXES if suffix == ".trig" else None
        )
    else:
        triples = [q.triple for q in drawn]
        prefixes = PREFIXES if rdf_format == ox.RdfFormat.TURTLE else None
        data = ox.serialize(triples, format=rdf_format, prefixes=prefixes)
    changed = draw(mutated(data))
    return suffix, changed, changed != data


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


# --- validate, export --------------------------------------------------------------------------


@examples(3, 700)
@given(rdf_files())
def test_validate_any_file(workdir, generated):
    suffix, data, changed = generated
    path = _write(workdir, "data" + suffix, data)
    outcome = clean(cli("validate", str(path)))
    if changed or b"@graph" in data or suffix in (".trig", ".nq"):
        return  # named graphs in a user's file are refused; a mutation may break anything
    if any(True for _ in ox.parse(data, format=ox.RdfFormat.from_extension(suffix[1:]))):
        assert outcome.code in (0, 1), outcome  # valid RDF: conforms, or violations (exit 1)
    else:
        assert "holds no triples" in outcome.err, outcome


file_stems = st.one_of(
    st.just("source"),
    st.text(st.characters(blacklist_characters="/\x00"), min_size=1, max_size=8).filter(
        lambda stem: stem not in (".", "..")
    ),
    surrogates,  # a file name that is not UTF-8
)


@examples(8, 1500)
@given(rdf_files(), st.sampled_from([".trig", ".nq", ".ttl", ".nt"]), file_stems)
def test_export_any_file_writes_all_of_it_or_nothing(workdir, generated, out_suffix, stem):
    suffix, data, _changed = generated
    folder = workdir / "export"
    folder.mkdir(exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    sources = workdir / "sources"
    sources.mkdir(exist_ok=True)
    for old in sources.iterdir():
        old.unlink()
    source = _write(sources, stem + suffix, data)
    target = folder / ("out" + out_suffix)
    target.write_bytes(b"# the previous export\n")
    outcome = clean(cli("export", str(source), "-o", str(target)), codes=(0, 2))
    assert [p.name for p in folder.iterdir()] == [target.name]  # no temporary file stays
    if outcome.code == 2:
        assert target.read_bytes() == b"# the previous export\n"
        return
    written = list(ox.parse(path=target, format=ox.RdfFormat.from_extension(out_suffix[1:])))
    # One graph: as many statements as the file holds distinct triples, literals as written.
    assert len(written) == len({q.triple for q in parse_file(source)}), outcome


# --- load: old graph or new, whole -----------------------------------------------------------


def _opener():
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _graph_triples(server: OxigraphServer, graph: str) -> int:
    query = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
    request = urllib.request.Request(
        server.query_url + "?" + urllib.parse.urlencode({"query": query}),
        headers={"Accept": "application/sparql-results+json"},
    )
    with _opener().open(request, timeout=30) as response:
        return int(json.load(response)["results"]["bindings"][0]["n"]["value"])


def _graphs(server: OxigraphServer) -> set[str]:
    query = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
    request = urllib.request.Request(
        server.query_url + "?" + urllib.parse.urlencode({"query": query}),
        headers={"Accept": "application/sparql-results+json"},
    )
    with _opener().open(request, timeout=30) as response:
        return {b["g"]["value"] for b in json.load(response)["results"]["bindings"]}


@pytest.mark.server
@examples(5, 800)
@given(rdf_files(named_graphs=False), st.sampled_from(["--replace", "--append"]))
def test_load_any_file_leaves_the_old_graph_or_the_new_one(
    oxigraph_server, workdir, generated, mode
):
    suffix, data, _changed = generated
    path = _write(workdir, "fuzzed" + suffix, data)
    graph = GRAPH + "user/fuzzed"
    before = _graph_triples(oxigraph_server, graph)
    outcome = clean(
        cli("load", "--endpoint", oxigraph_server.base_url, mode, "--timeout", "20", str(path))
    )
    after = _graph_triples(oxigraph_server, graph)
    assert not any("staging" in g for g in _graphs(oxigraph_server)), outcome
    if outcome.code == 2:
        assert after == before, outcome
    elif mode == "--replace":
        assert after == len({q.triple for q in load_store([path])}), outcome


# --- query parameters: a value is one term or refused --------------------------------------------

ECHO = """\
# title: Echo a parameter
# param: v ({kind}) — the value
SELECT ?v ?n WHERE {{ BIND(1 AS ?n) }}
"""

parameter_values = st.one_of(
    any_text,
    st.builds("".join, st.lists(st.sampled_from([*NASTY, "treaty:", "<", "http://x/", "@en"]))),
    st.builds(lambda a, b: a + b, any_text, surrogates),
    st.from_regex(r"\A<[^>]{0,12}>\Z"),
    st.from_regex(r"\A[+-]?[0-9]{1,25}\Z"),
    st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z"),
    st.builds(lambda t, lang: f"{t}@{lang}", any_text, lang_tags),
    st.builds(
        lambda p, t: f"{p}:{t}", st.sampled_from(sorted(catalogue.PARAMETER_PREFIXES)), any_text
    ),
)


def _expected_term(kind: str, raw: str) -> ox.NamedNode | ox.Literal | None:
    """The term a value must be bound as, or None where it must be refused."""
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in raw):
        return None  # not text: bytes of a command line that is not UTF-8
    if kind == "string":
        return ox.Literal(raw)  # any text at all, exactly as given
    try:
        return catalogue.parameter_term("v", kind, raw)
    except catalogue.InputError:
        return None


@pytest.fixture(scope="module")
def small_stores():
    """Stand-ins for the project's store: answers to generated queries stay small and quick."""
    import rdflib

    store = ox.Store()
    store.extend(
        ox.Quad(
            ox.NamedNode(f"https://example.org/s{i}"),
            ox.NamedNode(f"https://example.org/p{i % 3}"),
            ox.Literal(f"o{i}", language="en")
            if i % 2
            else ox.NamedNode(f"https://example.org/s{i + 1}"),
            ox.NamedNode(f"https://example.org/g{i % 2}"),
        )
        for i in range(12)
    )
    return store, rdflib.Dataset()


@pytest.fixture
def small(small_stores, monkeypatch):
    store, dataset = small_stores
    monkeypatch.setattr(querying, "open_store", lambda: store)
    monkeypatch.setattr(querying, "open_rdflib_dataset", lambda: dataset)
    return store


@examples(12, 2500)
@given(
    st.sampled_from(sorted(catalogue.PARAMETER_TYPES)),
    parameter_values,
    st.sampled_from(["oxigraph", "oxigraph", "oxigraph", "rdflib"]),
)
def test_a_parameter_value_is_one_term_or_refused(small, workdir, kind, value, engine):
    query = _write(workdir, "echo.rq", ECHO.format(kind=kind).encode())
    args = ["query", "run", "--file", str(query), f"--param=v={value}", "--format", "json"]
    outcome = clean(cli(*args, "--engine", engine), codes=(0, 2))
    expected = _expected_term(kind, value)
    if outcome.code == 2:
        assert expected is None, outcome
        assert "parameter 'v'" in outcome.err, outcome
        return
    assert expected is not None, outcome
    answer = json.loads(outcome.out)
    assert answer["head"]["vars"] == ["v", "n"]
    (row,) = answer["results"]["bindings"]
    assert row["n"]["value"] == "1"
    bound = row["v"]
    assert bound["value"] == expected.value, outcome
    if isinstance(expected, ox.NamedNode):
        assert bound["type"] == "uri"
    else:
        assert bound["type"] == "literal"
        assert bound.get("xml:lang", "").lower() == (expected.language or "").lower()


STORED = [q for q in catalogue.stored_queries() if not querying.is_federated(q.text)]


@pytest.fixture(scope="module")
def project_store() -> ox.Store:
    return load_store()


@examples(10, 1500)
@given(st.data())
def test_a_stored_query_with_any_parameter_values(project_store, monkeypatch, data):
    monkeypatch.setattr(querying, "open_store", lambda: project_store)
    query = data.draw(st.sampled_from([q for q in STORED if q.parameters]))
    chosen = data.draw(st.lists(st.sampled_from(query.parameters), max_size=3, unique=True))
    values = {p.name: data.draw(parameter_values) for p in chosen}
    fmt = data.draw(st.sampled_from(querying.FORMATS))
    args = ["query", "run", query.name, "--format", fmt]
    args += [f"--param={name}={value}" for name, value in values.items()]
    outcome = clean(cli(*args))
    if outcome.code == 2 and "--format turtle is for" not in outcome.err:
        assert "parameter" in outcome.err or "needs" in outcome.err, outcome


# --- SPARQL: generated and mutated ---------------------------------------------------------------

variables = st.sampled_from(["?s", "?p", "?o", "?x", "$y", "?n"])
sparql_terms = st.one_of(
    variables,
    st.sampled_from(["<https://example.org/s1>", "ex:p0", "tkg:date", "a", "_:b", "[]", "1",
                     "1.5", "true", '"o1"@en', '"x"^^xsd:integer', '"""a\nb"""', "'q'"]),
    any_text.map(lambda t: json.dumps(t, ensure_ascii=False)),
)  # fmt: skip
expressions = st.one_of(
    st.builds(lambda a, op, b: f"{a} {op} {b}", variables, st.sampled_from(["=", "!=", "<", ">="]),
              sparql_terms),
    st.builds(lambda f, a: f"{f}({a})",
              st.sampled_from(["BOUND", "isIRI", "STR", "LANG", "STRLEN", "ABS", "xsd:integer"]),
              variables),
    st.builds(lambda a, b: f'REGEX(STR({a}), {json.dumps(b)})', variables, st.text(max_size=5)),
)  # fmt: skip


@st.composite
def group(draw, depth: int = 0) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 3))):
        choice = draw(st.integers(0, 6 if depth < 2 else 2))
        if choice <= 1:
            parts.append(f"{draw(sparql_terms)} {draw(sparql_terms)} {draw(sparql_terms)} .")
        elif choice == 2:
            parts.append(f"FILTER({draw(expressions)})")
        elif choice == 3:
            parts.append(f"OPTIONAL {{ {draw(group(depth + 1))} }}")
        elif choice == 4:
            parts.append(f"{{ {draw(group(depth + 1))} }} UNION {{ {draw(group(depth + 1))} }}")
        elif choice == 5:
            parts.append(f"GRAPH {draw(st.sampled_from(['?g', '<https://example.org/g0>']))} "
                         f"{{ {draw(group(depth + 1))} }}")  # fmt: skip
        else:
            parts.append(f"BIND({draw(expressions)} AS ?b{depth})")
    return " ".join(parts)


HEADER_LINES = [
    "# title: generated\n",
    "# param: o (string) = x — a value\n",
    "# param: n (integer) = 1 — a number\n",
    "# param: p (IRI) = ex:p0 — a property\n",
    "# param: x (lang) — required\n",
    "# param: bad line\n",
    "# param: y (colour) = red — unknown type\n",
    "# check: n <= n — always\n",
    "# check: o < p — mismatched\n",
]


UPDATES = ["INSERT DATA {", "DELETE WHERE {", "DROP ALL", "CLEAR DEFAULT",
           "LOAD <http://127.0.0.1:9/x>", "WITH <x:g> DELETE {"]  # fmt: skip


@st.composite
def sparql_queries(draw) -> tuple[str, bool]:
    header = "".join(draw(st.lists(st.sampled_from(HEADER_LINES), max_size=3)))
    prologue = (
        "PREFIX ex: <https://example.org/>\nPREFIX tkg: <https://w3id.org/treatykg/ontology#>\n"
    )
    prologue += "PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>\n"
    where = draw(group())
    form = draw(st.sampled_from(["SELECT", "ASK", "CONSTRUCT", "DESCRIBE", "UPDATE"]))
    if form == "SELECT":
        projection = draw(st.sampled_from(["*", "?s ?o", "DISTINCT ?s", "(COUNT(*) AS ?c)"]))
        body = f"SELECT {projection} WHERE {{ {where} }}"
        if "COUNT" not in projection and draw(st.booleans()):
            body += f" ORDER BY {draw(variables)}"
    elif form == "ASK":
        body = f"ASK {{ {where} }}"
    elif form == "CONSTRUCT":
        body = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ {where} }}"
    elif form == "DESCRIBE":
        body = f"DESCRIBE ?s WHERE {{ {where} }}"
    else:
        verb = draw(st.sampled_from(UPDATES))
        body = verb + (f" {where} }}" if verb.endswith("{") else "")
    text = header + prologue + body + f" LIMIT {draw(st.integers(0, 50))}\n" * (form == "SELECT")
    data = draw(mutated(text.encode()))
    return data.decode("utf-8", "replace"), form == "UPDATE" and data == text.encode()


@examples(10, 2000)
@given(
    sparql_queries(),
    st.sampled_from(["table", "csv", "json", "xml", "turtle", "tsv"]),
    st.sampled_from(["oxigraph", "oxigraph", "oxigraph", "rdflib"]),
)
def test_any_query_file(small, workdir, generated, fmt, engine):
    text, update = generated
    path = workdir / "generated.rq"
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    outcome = clean(cli("query", "run", "--file", str(path), "--format", fmt, "--engine", engine))
    if update:
        assert outcome.code == 2
        assert "is a SPARQL Update" in outcome.err or "parameter" in outcome.err, outcome


@examples(3, 300)
@given(st.binary(max_size=200))
def test_any_bytes_as_a_query_file(small, workdir, data):
    path = workdir / "bytes.rq"
    path.write_bytes(data)
    clean(cli("query", "run", "--file", str(path)))


# --- endpoint URLs ----------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@st.composite
def endpoint_urls(draw, live: str) -> str:
    if draw(st.integers(0, 4)) == 0:
        return draw(st.one_of(any_text, surrogates))
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "ftp", "file", "", "javascript"]))
    host = draw(st.one_of(
        st.sampled_from(["127.0.0.1", "localhost", "[::1]", "example.invalid", "例子.测试", "",
                         "user:secret@127.0.0.1", "127.0.0.1 ", "256.1.1.1"]),
        any_text,
    ))  # fmt: skip
    port = draw(st.one_of(
        st.just(str(_closed_port())), st.just(live), st.integers(0, 70000).map(str), any_text
    ))  # fmt: skip
    path = draw(st.one_of(
        st.sampled_from(["/query", "/sparql", "", "/", "/store", "/update", "/query?x=1#f"]),
        any_text,
    ))  # fmt: skip
    return f"{scheme}://{host}{':' + port if port else ''}{path}"


@pytest.mark.server
@examples(6, 700)
@given(st.data())
def test_any_endpoint_url(oxigraph_server, workdir, data):
    live = str(oxigraph_server.port)
    url = data.draw(endpoint_urls(live))
    command = data.draw(st.sampled_from(["query", "load", "link"]))
    if command == "query":
        args = ["query", "run", "--endpoint", url, "days-between-signing-and-entry-into-force"]
    elif command == "load":
        tiny = _write(workdir, "tiny.ttl", b"<https://example.org/a> <https://example.org/b> 1 .\n")
        args = ["load", "--endpoint", url, "--timeout", "5", "--retries", "0", str(tiny)]
    else:
        links = _write(workdir, "links-url.ttl", LINK_PREFIXES.encode())
        args = ["link", "check", "--endpoint", url, "--timeout", "5", "--links-file", str(links)]
    clean(cli(*args))


# --- link: links files ----------------------------------------------------------------------

LINK_PREFIXES = (
    "@prefix tkg: <https://w3id.org/treatykg/ontology#> .\n"
    "@prefix wd: <http://www.wikidata.org/entity/> .\n"
    "@prefix person: <https://w3id.org/treatykg/id/person/> .\n"
    "@prefix state: <https://w3id.org/treatykg/id/state/> .\n"
)
link_subjects = st.sampled_from(
    ["person:zhou-enlai", "state:prc", "state:ussr", "<https://example.org/nobody>", "_:b"]
)
link_objects = st.one_of(
    st.sampled_from(["wd:Q148", "wd:Q15180", "wd:Q900000001", '"Q1"', "wd:Q0", "wd:P31", "42",
                     "<http://www.wikidata.org/entity/Q148>", "<https://www.wikidata.org/wiki/Q148>",
                     "person:zhou-enlai", "[]"]),
    st.integers(0, 10**12).map(lambda n: f"wd:Q{n}"),
)  # fmt: skip


@st.composite
def links_files(draw) -> bytes:
    lines = [
        f"{draw(link_subjects)} tkg:wikidataItem {draw(link_objects)} ."
        for _ in range(draw(st.integers(0, 4)))
    ]
    return draw(mutated((LINK_PREFIXES + "\n".join(lines) + "\n").encode()))


@pytest.fixture(scope="module")
def wikidata_endpoint() -> Iterator[str]:
    """A Wikidata-shaped ``oxigraph serve`` of this module's own, on 127.0.0.1, stopped by pid."""
    fixture = Path(__file__).parent / "fixtures" / "wikidata" / "items.ttl"
    wikidata = OxigraphServer(union_default_graph=False).start()
    try:
        request = urllib.request.Request(
            wikidata.store_url + "?default",
            method="POST",
            data=fixture.read_bytes(),
            headers={"Content-Type": "text/turtle"},
        )
        with _opener().open(request, timeout=30):
            pass
        yield wikidata.query_url
    finally:
        wikidata.stop()


@pytest.mark.server
@examples(4, 500)
@given(links_files(), st.sampled_from(["check", "diff", "suggest"]))
def test_any_links_file(wikidata_endpoint, workdir, data, command):
    path = _write(workdir, "links.ttl", data)
    before = path.read_bytes()
    args = ["link", command, "--endpoint", wikidata_endpoint, "--timeout", "20"]
    if command == "suggest":
        args += ["--entity", "person:zhou-enlai", "--limit", "2"]
    clean(cli(*args, "--links-file", str(path)))
    assert path.read_bytes() == before  # check, diff and suggest write nothing


# --- serve: its options (the server itself is not started) -------------------------------------


class _Started(BaseException):
    """Raised where serve would start its server: the options were accepted."""


class _NoGuard:
    """Stands in for the query guard, which would take the port."""

    def __init__(self, **_kwargs) -> None:
        pass

    def stop(self) -> None:
        pass


def _checked_then_stopped(_sources, *, location=None, **_kwargs):
    if location is not None:
        server.check_location(location)  # what serve_graph does first with a --location
    raise _Started


folder_names = st.one_of(
    st.sampled_from(["missing", "a-file", "a-folder", "a-file/below", "empty", "missing/below"]),
    st.text(st.characters(blacklist_characters="/\x00"), min_size=1, max_size=10).filter(
        lambda name: name not in (".", "..")
    ),
    surrogates,
)


@examples(6, 300)
@given(
    st.one_of(st.integers(-(10**6), 10**6).map(str), any_text, surrogates),
    st.one_of(st.none(), folder_names),
    st.one_of(
        st.none(),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.sampled_from(["nan", "inf", "-inf", "0", "-1", "1e309", "1e-320", "30"]),
        any_text,
    ),
)
def test_serve_options(workdir, monkeypatch, port, location, timeout):
    from treatykg.cli import store

    monkeypatch.setattr(store.query_guard, "QueryGuard", _NoGuard)
    monkeypatch.setattr(server, "serve_graph", _checked_then_stopped)
    folder = workdir / "serve"
    (folder / "a-folder").mkdir(parents=True, exist_ok=True)
    (folder / "a-file").write_text("not a store\n", encoding="utf-8")
    (folder / "a-folder" / "notes.txt").write_text("not a store\n", encoding="utf-8")
    (folder / "empty").mkdir(exist_ok=True)
    args = ["serve", f"--port={port}"]
    if location is not None:
        args.append(f"--location={folder / location}")
    if timeout is not None:
        args.append(f"--timeout={timeout}")
    with contextlib.suppress(_Started):  # raised once every option was accepted
        clean(cli(*args), codes=(2,))
    assert sorted(p.name for p in (folder / "a-folder").iterdir()) == ["notes.txt"]
    assert (folder / "a-file").read_text(encoding="utf-8") == "not a store\n"
