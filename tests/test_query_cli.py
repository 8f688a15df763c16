"""``treatykg query``: list, show, run, run-all; formats; and one clear line for each bad input."""

from __future__ import annotations

import csv
import io
import json
import re
import shlex
import socket
import urllib.request
from pathlib import Path

import pyoxigraph as ox
import pytest

from processes import run_treatykg
from treatykg import catalogue, querying
from treatykg.cli import main
from treatykg.loading import load_store

NAMES = [q.name for q in catalogue.stored_queries()]
FEDERATED = [q.name for q in catalogue.stored_queries() if querying.is_federated(q.text)]
XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"


def one_error_line(err: str) -> str:
    """The error output must be exactly one line starting ``treatykg: error:``."""
    assert len(err.splitlines()) == 1, err
    assert err.startswith("treatykg: error: "), err
    assert "Traceback" not in err
    return err


def run_own(tmp_path: Path, text: str, *args: str, name: str = "own.rq") -> tuple[int, Path]:
    """Write a user's query file and run it with ``treatykg query run --file``."""
    own = tmp_path / name
    own.write_text(text, encoding="utf-8")
    return main(["query", "run", "--file", str(own), *args]), own


# --- list, show ---------------------------------------------------------------------------------


def test_list_shows_every_query_with_title_and_parameters(capsys):
    assert main(["query", "list"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == NAMES
    line = next(x for x in lines if x.startswith("who-signed-the-treaty "))
    assert "Who signed the treaty" in line
    assert "[treaty=treaty:treaty-1950 lang=en]" in line


def test_show_prints_the_query_with_its_header(capsys):
    assert main(["query", "show", "who-signed-the-treaty"]) == 0
    out = capsys.readouterr().out
    assert out == (catalogue.stored_query("who-signed-the-treaty").path.read_text(encoding="utf-8"))
    assert out.startswith("# title: Who signed the treaty\n")


@pytest.mark.parametrize("command", ["show", "run"])
def test_an_unknown_name_suggests_the_closest(command, capsys):
    assert main(["query", command, "who-signed-the-traety"]) == 2
    err = one_error_line(capsys.readouterr().err)
    assert "no stored query named 'who-signed-the-traety'; closest: who-signed-the-treaty" in err


def test_a_word_of_a_name_is_enough_for_a_suggestion(capsys):
    assert main(["query", "run", "japan"]) == 2
    assert "closest: articles-that-mention-japan" in one_error_line(capsys.readouterr().err)


# --- run: answers and formats -------------------------------------------------------------------


def test_run_prints_a_table(capsys):
    assert main(["query", "run", "days-between-signing-and-entry-into-force"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["signed", "enteredIntoForce", "days"]
    assert out[2].split() == ["1950-02-14", "1950-04-11", "56"]
    assert out[-1] == "(1 row)"


def test_run_with_a_parameter(capsys):
    args = ["query", "run", "article-text-in-a-language", "--param", "number=2", "--format", "csv"]
    assert main(args) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["article", "number", "kind", "text"]
    assert rows[1][:3] == [
        "https://w3id.org/treatykg/id/article/treaty-1950-article-2",
        "2",
        "text",
    ]
    assert rows[1][3].startswith("缔约国双方保证经过彼此同意")


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json", "xml"])
def test_select_answers_in_the_sparql_results_formats(fmt, capsys):
    args = ["query", "run", "days-between-signing-and-entry-into-force", "--format", fmt]
    assert main(args) == 0
    out = capsys.readouterr().out
    if fmt == "csv":  # CSV keeps values only (and pyoxigraph does not read it back)
        assert out == "signed,enteredIntoForce,days\r\n1950-02-14,1950-04-11,56\r\n"
        return
    results_format = {
        "tsv": ox.QueryResultsFormat.TSV,
        "json": ox.QueryResultsFormat.JSON,
        "xml": ox.QueryResultsFormat.XML,
    }[fmt]
    solutions = list(ox.parse_query_results(out.encode(), format=results_format))
    assert len(solutions) == 1
    assert solutions[0]["days"].value == "56"
    assert solutions[0]["signed"] == ox.Literal(
        "1950-02-14", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#date")
    )


def test_json_is_the_sparql_json_format(capsys):
    assert main(["query", "run", "who-signed-the-treaty", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["head"]["vars"][:2] == ["signer", "signerLabel"]
    signers = {b["signer"]["value"] for b in data["results"]["bindings"]}
    assert "https://w3id.org/treatykg/id/person/zhou-enlai" in signers


def test_construct_answers_in_turtle_by_default(capsys):
    assert main(["query", "run", "describe-an-entity", "--param", "entity=place:moscow"]) == 0
    out = capsys.readouterr().out
    triples = list(ox.parse(out.encode(), format=ox.RdfFormat.TURTLE))
    moscow = ox.NamedNode("https://w3id.org/treatykg/id/place/moscow")
    assert triples and all(t.subject == moscow for t in triples)


def test_turtle_is_refused_for_a_select_query(capsys):
    args = ["query", "run", "timeline", "--format", "turtle"]
    assert main(args) == 2
    assert "--format turtle is for CONSTRUCT and DESCRIBE" in one_error_line(
        capsys.readouterr().err
    )


def test_an_unknown_format_is_one_line(capsys):
    assert main(["query", "run", "timeline", "--format", "yaml"]) == 2
    err = one_error_line(capsys.readouterr().err)
    assert "unknown format 'yaml'; choose one of: table, csv, tsv, json, xml, turtle" in err


def test_an_ask_query_exits_0_for_true_and_1_for_false(capsys):
    assert main(["query", "run", "does-every-signer-act-for-a-party"]) == 0
    assert capsys.readouterr().out == "true\n"
    assert main(["query", "run", "did-anyone-sign-both-treaties"]) == 1
    assert capsys.readouterr().out == "false\n"


def test_run_all_prints_every_answer_under_its_title(capsys):
    assert main(["query", "run-all"]) == 0
    out = capsys.readouterr().out
    titles = re.findall(r"^## (.*) \(([a-z0-9-]+)\)$", out, flags=re.M)
    assert [name for _title, name in titles] == NAMES
    for query in catalogue.stored_queries():
        assert (query.title, query.name) in titles


def test_run_all_leaves_the_federated_queries_out_unless_asked(capsys, monkeypatch):
    assert FEDERATED and all(name.startswith("federated-") for name in FEDERATED)
    asked = []
    real_run = querying.run

    def recording_run(query, *args, **kwargs):
        asked.append(query.name)
        if query.name in FEDERATED:  # never the internet: an empty answer instead
            return querying.Answer("SELECT", variables=["x"])
        return real_run(query, *args, **kwargs)

    monkeypatch.setattr(querying, "run", recording_run)
    assert main(["query", "run-all"]) == 0
    out = capsys.readouterr().out
    assert asked == [name for name in NAMES if name not in FEDERATED]
    for name in FEDERATED:
        section = out.split(f"({name})\n", 1)[1].split("\n## ", 1)[0]
        assert "(federated: asks another endpoint; not run without --federated)" in section
    asked.clear()
    assert main(["query", "run-all", "--federated"]) == 0
    assert asked == NAMES


# `query run-all --engine rdflib` is tested in test_queries.py, beside the engine comparison whose
# rdflib answers it reuses (rdflib takes seconds for some queries).


# --- run --file: a user's own query -------------------------------------------------------------


def test_a_users_query_file_runs_with_its_own_parameters(tmp_path, capsys):
    text = (
        "# title: English label\n"
        "# param: thing (IRI) — the entity\n"
        "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
        'SELECT ?label WHERE { ?thing rdfs:label ?label FILTER(lang(?label) = "en") }\n'
    )
    assert run_own(tmp_path, text, "--param", "thing=state:ussr")[0] == 0
    assert "Soviet Union" in capsys.readouterr().out
    # Its parameter has no default: leaving it out names it and its type.
    assert run_own(tmp_path, text)[0] == 2
    err = one_error_line(capsys.readouterr().err)
    assert "parameter 'thing' is required: an IRI" in err


def test_a_syntax_error_in_a_users_query_gives_line_and_column(tmp_path, capsys):
    code, own = run_own(tmp_path, "SELECT ?s\nWHERE {\n  ?s ?p\n}\n")
    assert code == 2
    err = one_error_line(capsys.readouterr().err)
    # The triple on line 3 lacks its object: the brace on line 4 is where the parser stops.
    assert f"{own}: syntax error at line 4, column 1: " in err


def test_a_syntax_error_is_located_in_the_file_even_with_parameters(tmp_path, capsys):
    text = (
        "# title: x\n# param: s (IRI) = tkg:Treaty — a thing\n"
        "SELECT * WHERE { ?s ?p ?o . FILTER( }\n"
    )
    assert run_own(tmp_path, text)[0] == 2
    # The position is in the file as written, before the parameter's VALUES block is added.
    assert "syntax error at line 3, column 37: " in one_error_line(capsys.readouterr().err)


def test_a_syntax_error_in_a_federated_query_gives_line_and_column(tmp_path, capsys):
    text = "ASK {\n  SERVICE <https://query.wikidata.org/sparql> { ?s ?p ?o FILTER( }\n}\n"
    assert run_own(tmp_path, text)[0] == 2
    err = one_error_line(capsys.readouterr().err)
    assert re.search(r"own\.rq: syntax error at line \d+, column \d+: expected", err)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("DROP ALL\n", "DROP at line 1, column 1"),
        ("INSERT DATA { <http://a> <http://b> <http://c> }\n", "INSERT at line 1, column 1"),
        ("PREFIX x: <x:>\n# SELECT\n delete where { ?s x:p ?o }", "DELETE at line 3, column 2"),
        ("WITH <http://g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }", "WITH at line 1, column 1"),
        ("LOAD <http://example.org/data.ttl>", "LOAD at line 1, column 1"),
    ],
)  # fmt: skip
def test_an_update_is_not_run_and_says_so(text, where, tmp_path, capsys):
    assert run_own(tmp_path, text)[0] == 2
    err = one_error_line(capsys.readouterr().err)
    assert f"own.rq: is a SPARQL Update ({where}); updates are not run" in err


def test_a_query_that_mentions_an_update_word_is_still_a_query(tmp_path, capsys):
    text = 'PREFIX insert: <http://x/>\n# DELETE\nASK { FILTER("INSERT" != "DROP") }\n'
    assert run_own(tmp_path, text)[0] == 0
    assert capsys.readouterr().out == "true\n"


# --- checks between parameters -----------------------------------------------------------------


def test_timeline_refuses_a_first_year_after_the_last(capsys):
    args = ["query", "run", "timeline", "--param", "from=1980", "--param", "to=1950"]
    assert main(args) == 2
    assert one_error_line(capsys.readouterr().err) == (
        "treatykg: error: query timeline needs from <= to (the first year comes no later than "
        "the last); got from=1980, to=1950\n"
    )
    assert main(["query", "run", "timeline", "--param", "from=1950", "--param", "to=1950"]) == 0
    assert "(15 rows)" in capsys.readouterr().out


CHECKED = (
    "# title: x\n# param: start (date) = 1950-01-01 — from\n"
    "# param: end (date) = 1950-12-31 — to\n{check}"
    "SELECT ?start ?end WHERE {{}}\n"
)


@pytest.mark.parametrize(
    ("check", "params", "code"),
    [
        ("start < end — a span of at least a day", ["start=1950-02-14", "end=1950-02-15"], 0),
        ("start < end — a span of at least a day", ["start=1950-02-14", "end=1950-02-14"], 2),
        ("start != end — two days", ["start=1950-02-14", "end=1950-02-14"], 2),
        ("end >= start — in time order", ["start=1951-01-01"], 2),
        ("end >= start — in time order", ["end=1950-01-01"], 0),
    ],
)
def test_a_users_query_may_declare_checks(check, params, code, tmp_path, capsys):
    args = [arg for param in params for arg in ("--param", param)]
    assert run_own(tmp_path, CHECKED.format(check=f"# check: {check}\n"), *args)[0] == code
    if code:
        err = one_error_line(capsys.readouterr().err)
        assert f"query own needs {check.replace(' — ', ' (')})" in err


@pytest.mark.parametrize(
    ("check", "message"),
    [
        ("start <= finish — x", "own.rq:4: check start <= finish names 'finish', which is not a"),
        ("start => end — x", "own.rq:4: a check line reads '# check: name <= other — desc"),
        ("start <= end", "own.rq:4: a check line reads"),
    ],
)
def test_a_malformed_check_is_one_line_naming_its_line(check, message, tmp_path, capsys):
    assert run_own(tmp_path, CHECKED.format(check=f"# check: {check}\n"))[0] == 2
    assert message in one_error_line(capsys.readouterr().err)


def test_a_check_compares_only_what_can_be_compared(tmp_path, capsys):
    text = (
        "# title: x\n# param: a (IRI) = <http://a> — a\n# param: b (IRI) = <http://b> — b\n"
        "# param: n (integer) = 1 — n\n# check: a < b — x\nSELECT * {}\n"
    )
    assert run_own(tmp_path, text)[0] == 2
    assert "own.rq:5: check a < b: values of type IRI are compared only by = and !=" in (
        one_error_line(capsys.readouterr().err)
    )
    assert run_own(tmp_path, text.replace("a < b", "a = n"))[0] == 2
    assert (
        "check a = n compares a parameter of type IRI with one of type integer"
        in capsys.readouterr().err
    )
    assert run_own(tmp_path, text.replace("a < b", "a != b"))[0] == 0


def test_a_missing_file_is_one_line(tmp_path, capsys):
    assert main(["query", "run", "--file", str(tmp_path / "none.rq")]) == 2
    assert "no such query file" in one_error_line(capsys.readouterr().err)


# --- parameters: ill-typed, unknown, malformed -------------------------------------------------


@pytest.mark.parametrize(
    ("param", "message"),
    [
        ("number=six", "parameter 'number' expects an integer such as 1 or 42; got 'six'"),
        ("lang=zh Hans", "parameter 'lang' expects a language tag"),
        # A one-letter tag matches the pattern but is no BCP 47 tag (a traceback before; found
        # by tests/test_properties.py).
        ("lang=A", "parameter 'lang' expects a language tag such as en, zh-Hans, zh-Hant or ru; "
                   "got 'A' (The given language subtag is invalid)"),
        ("treaty=treaty 1950", "parameter 'treaty' expects an IRI"),
        ("treaty=traety:treaty-1950", "unknown prefix 'traety' (known: article, claim"),
        ("treaty=mailto:someone@example.org", "unknown prefix 'mailto'"),
        ("colour=red", "has no parameter 'colour' (its parameters: treaty, number, lang)"),
        ("number", "--param expects KEY=VALUE"),
    ],
)  # fmt: skip
def test_a_bad_parameter_is_one_line_naming_it(param, message, capsys):
    assert main(["query", "run", "article-text-in-a-language", "--param", param]) == 2
    assert message in one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize(
    "value",
    [
        "person:zhou-enlai",
        "<https://w3id.org/treatykg/id/person/zhou-enlai>",
        "https://w3id.org/treatykg/id/person/zhou-enlai",
    ],
)
def test_an_iri_is_a_known_prefix_a_bracketed_iri_or_a_bare_http_iri(value, capsys):
    assert main(["query", "run", "labels-of-an-entity", "--param", f"entity={value}"]) == 0
    assert "Zhou Enlai" in capsys.readouterr().out


def test_every_type_of_the_iri_policy_is_a_parameter_prefix(capsys):
    # dataset: is the newest type; the dataset's description answers by its prefixed name.
    assert main(["query", "run", "describe-an-entity", "--param", "entity=dataset:treatykg"]) == 0
    assert "void:Dataset" in capsys.readouterr().out


def test_a_bad_date_names_the_parameter_and_the_type(tmp_path, capsys):
    text = (
        "# title: x\n# param: day (date) = 1950-02-14 — a day\n"
        "SELECT ?e WHERE { ?e <https://w3id.org/treatykg/ontology#date> ?day }\n"
    )
    assert run_own(tmp_path, text, "--param", "day=1950-02-30")[0] == 2
    err = one_error_line(capsys.readouterr().err)
    assert "parameter 'day' expects a date as YYYY-MM-DD (e.g. 1950-02-14); got '1950-02-30'" in err


def test_a_text_with_a_one_letter_language_tag_is_refused_in_one_line(tmp_path, capsys):
    text = "# title: x\n# param: name (langString) — a name\nSELECT ?name WHERE {}\n"
    assert run_own(tmp_path, text, "--param", "name=日本@A")[0] == 2
    assert "parameter 'name' expects a text with a language tag" in one_error_line(
        capsys.readouterr().err
    )


@pytest.mark.parametrize("engine", ["oxigraph", "rdflib"])
def test_control_characters_in_a_value_arrive_unchanged(engine, tmp_path, capsys):
    # rdflib refused the query ("Expected SelectQuery") when a value held U+001F, which
    # pyoxigraph writes as \u001F (found by tests/test_properties.py).
    value = "a\x1fb\x00c\x7f\td\\u001F"
    text = "# title: x\n# param: name (string) — a name\nSELECT ?name WHERE {}\n"
    assert run_own(tmp_path, text, "--param", f"name={value}", "--engine", engine, "--format",
                   "json")[0] == 0  # fmt: skip
    (row,) = json.loads(capsys.readouterr().out)["results"]["bindings"]
    assert row["name"]["value"] == value


@pytest.mark.parametrize("engine", ["oxigraph", "rdflib"])
def test_a_value_that_is_not_utf8_is_refused_in_one_line(engine, tmp_path, capsys):
    # `--param name=$'\xff'` reaches Python as a lone surrogate; it used to end in a traceback
    # (found by tests/test_properties.py).
    text = "# title: x\n# param: name (string) — a name\nSELECT ?name WHERE {}\n"
    assert run_own(tmp_path, text, "--param", "name=caf\udce9", "--engine", engine)[0] == 2
    err = one_error_line(capsys.readouterr().err)
    assert "parameter 'name' expects a string; got 'caf\\udce9' (not UTF-8 text)" in err


# --- injection: a value is one term, or refused ------------------------------------------------

INJECTIONS = [
    '"} ; DROP ALL',
    "> . ?s ?p ?o",
    'x" } ; DROP ALL ; #',
    "treaty:treaty-1950> . ?s ?p ?o <x",
]


@pytest.mark.parametrize("value", INJECTIONS)
def test_query_text_in_an_iri_parameter_is_refused_in_one_line(value, capsys):
    assert main(["query", "run", "who-signed-the-treaty", "--param", f"treaty={value}"]) == 2
    err = one_error_line(capsys.readouterr().err)
    assert "parameter 'treaty' expects an IRI, as <https://…> or prefix:name" in err
    assert repr(value) in err


@pytest.mark.parametrize("value", INJECTIONS)
def test_query_text_in_a_language_parameter_is_refused_in_one_line(value, capsys):
    assert main(["query", "run", "timeline", "--param", f"lang={value}"]) == 2
    assert "parameter 'lang' expects a language tag" in one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize("value", INJECTIONS)
def test_query_text_in_a_string_parameter_stays_one_literal(value, tmp_path, capsys):
    text = (
        "# title: Echo and match\n# param: name (string) = x — a label\n"
        "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
        "SELECT ?name (COUNT(?s) AS ?matches) WHERE { OPTIONAL { ?s rdfs:label ?l "
        "FILTER(STR(?l) = ?name) } } GROUP BY ?name\n"
    )
    assert run_own(tmp_path, text, "--param", f"name={value}", "--format", "json")[0] == 0
    bindings = json.loads(capsys.readouterr().out)["results"]["bindings"]
    assert bindings == [
        {
            "name": {"type": "literal", "value": value},
            "matches": {"type": "literal", "value": "0", "datatype": XSD_INTEGER},
        }
    ]


# --- the endpoint -------------------------------------------------------------------------------


@pytest.fixture
def direct(monkeypatch):
    """Talk to local servers directly, whatever proxy the environment names."""
    for variable in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture
def graph_server(fresh_server, direct):
    """The session's Oxigraph server (tests/conftest.py, union default graph) holding the graph."""
    body = ox.serialize(load_store(), format=ox.RdfFormat.N_QUADS)
    upload = urllib.request.Request(
        fresh_server.store_url,
        data=body,
        headers={"Content-Type": "application/n-quads"},
        method="POST",
    )
    urllib.request.build_opener(urllib.request.ProxyHandler({})).open(upload, timeout=60).close()
    return fresh_server


# Every stored query and `query run-all --endpoint` are compared with the embedded store in
# tests/test_store.py; here, one query of each answer form through `query run --endpoint`.


@pytest.mark.server
@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["days-between-signing-and-entry-into-force", "--format", "csv"], 0),
        (["timeline", "--param", "from=1950", "--param", "to=1953", "--format", "json"], 0),
        (["does-every-signer-act-for-a-party"], 0),
        (["did-anyone-sign-both-treaties"], 1),
        (["wikidata-truthy-view"], 0),
        (["describe-an-entity", "--param", "entity=treaty:treaty-1950", "--format", "csv"], 0),
    ],
    ids=["select", "select-with-parameters", "ask-true", "ask-false", "construct", "describe"],
)
def test_run_through_an_endpoint_prints_what_the_embedded_store_prints(
    args, code, graph_server, capsys
):
    assert main(["query", "run", *args]) == code
    embedded = capsys.readouterr().out
    assert main(["query", "run", *args, "--endpoint", graph_server.query_url]) == code
    assert capsys.readouterr().out == embedded
    assert embedded.strip()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the block ends


def test_an_unreachable_endpoint_gives_the_url_and_the_reason(capsys, direct):
    url = f"http://127.0.0.1:{_closed_port()}/query"
    assert main(["query", "run", "timeline", "--endpoint", url]) == 2
    err = one_error_line(capsys.readouterr().err)
    assert f"cannot reach SPARQL endpoint {url}: " in err
    assert "refused" in err.lower()


def test_a_server_url_without_its_query_path_is_named_as_such(graph_server, capsys):
    # The base URL of an Oxigraph server answers 404: say so, and where its endpoint is.
    base = graph_server.query_url.removesuffix("/query")
    assert main(["query", "run", "timeline", "--endpoint", base]) == 2
    err = one_error_line(capsys.readouterr().err)
    assert f"HTTP 404 from {base}: no SPARQL endpoint there" in err and "…/query" in err


def test_an_endpoint_that_is_not_a_url_is_one_line(capsys):
    assert main(["query", "run", "timeline", "--endpoint", "localhost:7878"]) == 2
    assert "is not an http(s) URL" in one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        # Found by tests/test_properties.py: each of these ended in a traceback.
        ("http://127.0.0.1:7878;/query", "is not an http(s) URL (bad port)"),
        ("http://127.0.0.1:99999/query", "is not an http(s) URL (bad port)"),
        ("http://[::1/query", "is not an http(s) URL (bad host)"),
        ("http://例子.测试/query", "write its host name in ASCII"),
        ("http://127.0.0.1 :7878/query", "(it holds white space or a control character)"),
    ],
)
def test_a_malformed_endpoint_url_is_one_line(url, message, capsys):
    assert main(["query", "run", "timeline", "--endpoint", url]) == 2
    assert message in one_error_line(capsys.readouterr().err)


def test_engine_and_endpoint_together_are_refused(capsys):
    args = ["query", "run", "timeline", "--engine", "rdflib", "--endpoint", "http://x/q"]
    assert main(args) == 2
    assert "either --engine or --endpoint" in one_error_line(capsys.readouterr().err)


def test_errors_in_a_real_process_print_no_traceback(tmp_path):
    result = run_treatykg("query", "run", "timelin", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert re.fullmatch(
        r"treatykg: error: no stored query named 'timelin'; closest: timeline[^\n]*\n",
        result.stderr,
    )


def test_a_federated_query_that_cannot_reach_its_service_is_one_line(tmp_path):
    text = f"ASK {{ SERVICE <http://127.0.0.1:{_closed_port()}/sparql> {{ ?s ?p ?o }} }}\n"
    (tmp_path / "own.rq").write_text(text, encoding="utf-8")
    result = run_treatykg("query", "run", "--file", "own.rq", cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert re.fullmatch(
        r"treatykg: error: the store failed while answering: [^\n]+\n", result.stderr
    )


# --- the README ---------------------------------------------------------------------------------


README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_main_job_validates_and_answers_every_stored_query():
    first_command = re.search(r"```sh\n(.*)\n", README.read_text(encoding="utf-8")).group(1)
    steps = [step.strip() for step in first_command.split("&&")]
    assert steps[-2:] == [".venv/bin/treatykg validate", ".venv/bin/treatykg query run-all"]


def readme_query_commands() -> list[list[str]]:
    """The ``treatykg query`` command lines of the README's section "Asking questions"."""
    readme = README.read_text(encoding="utf-8")
    section = readme.split("\n## Asking questions\n", 1)[1].split("\n## ", 1)[0]
    lines = re.findall(r"^treatykg (query .*?)(?:\s+#.*)?$", section, flags=re.M)
    return [shlex.split(line) for line in lines]


def test_the_readme_query_commands_work(tmp_path, monkeypatch, capsys):
    commands = readme_query_commands()
    assert {c[1] for c in commands} == {"list", "show", "run", "run-all"}
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my.rq").write_text("SELECT (1 AS ?one) WHERE { }\n", encoding="utf-8")
    for command in commands:
        assert main(command) == 0, command
        assert capsys.readouterr().out.strip(), command


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        (name, fmt)
        for name in ("parties-to-the-treaty", "describe-an-entity", "did-anyone-sign-both-treaties")
        for fmt in ("table", "csv", "tsv", "json", "xml")
    ],
)
def test_every_answer_ends_with_a_newline(name, fmt, capsys):
    main(["query", "run", name, "--format", fmt])
    out = capsys.readouterr().out
    assert out.endswith("\n") and not out.endswith("\n\n\n"), repr(out[-20:])


@pytest.fixture
def silent_endpoint():
    """A local server that accepts connections and never answers; closed at the end."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/query"
    listener.close()


def test_an_endpoint_that_does_not_answer_in_time_is_one_line(silent_endpoint, capsys):
    import time

    start = time.monotonic()
    args = ["query", "run", "triples-per-class", "--endpoint", silent_endpoint]
    assert main([*args, "--timeout", "0.5"]) == 2
    elapsed = time.monotonic() - start
    err = capsys.readouterr().err
    assert err == (
        f"treatykg: error: SPARQL endpoint {silent_endpoint} did not answer within 0.5 s\n"
    )
    assert elapsed < 5  # the default (60 s) would hang here


@pytest.mark.parametrize("value", ["0", "-1", "soon", "inf"])
def test_a_timeout_is_a_positive_number_of_seconds(value, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "query",
                "run",
                "triples-per-class",
                "--endpoint",
                "http://127.0.0.1:9/q",
                "--timeout",
                value,
            ]
        )
    assert exit_info.value.code == 2
    assert "seconds" in capsys.readouterr().err


def test_a_timeout_without_an_endpoint_is_refused(capsys):
    assert main(["query", "run", "triples-per-class", "--timeout", "5"]) == 2
    assert "--timeout is for --endpoint" in capsys.readouterr().err
