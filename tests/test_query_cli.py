"""``treatykg query``: list, show, run, run-all; formats; and one clear line for each bad input."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

import treatykg
from treatykg import catalogue
from treatykg.cli import main

NAMES = [q.name for q in catalogue.stored_queries()]


def one_error_line(err: str) -> str:
    """The error output must be exactly one line starting ``treatykg: error:``."""
    assert len(err.splitlines()) == 1, err
    assert err.startswith("treatykg: error: "), err
    assert "Traceback" not in err
    return err


def run_process(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    package_parent = str(Path(treatykg.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "treatykg", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


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


def test_run_all_with_rdflib_prints_the_same_as_with_oxigraph(capsys):
    assert main(["query", "run-all", "--format", "json"]) == 0
    oxigraph_out = capsys.readouterr().out
    assert main(["query", "run-all", "--format", "json", "--engine", "rdflib"]) == 0
    rdflib_out = capsys.readouterr().out
    # Same titles in the same order; answers are compared term by term in test_queries.py.
    assert re.findall(r"^## .*$", oxigraph_out, re.M) == re.findall(r"^## .*$", rdflib_out, re.M)


# --- run --file: a user's own query -------------------------------------------------------------


def test_a_users_query_file_runs_with_its_own_parameters(tmp_path, capsys):
    own = tmp_path / "labels.rq"
    own.write_text(
        "# title: English label\n"
        "# param: thing (IRI) — the entity\n"
        "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
        'SELECT ?label WHERE { ?thing rdfs:label ?label FILTER(lang(?label) = "en") }\n',
        encoding="utf-8",
    )
    assert main(["query", "run", "--file", str(own), "--param", "thing=state:ussr"]) == 0
    assert "Soviet Union" in capsys.readouterr().out
    # Its parameter has no default: leaving it out names it and its type.
    assert main(["query", "run", "--file", str(own)]) == 2
    err = one_error_line(capsys.readouterr().err)
    assert "parameter 'thing' is required: an IRI" in err


def test_a_syntax_error_in_a_users_query_gives_line_and_column(tmp_path, capsys):
    own = tmp_path / "broken.rq"
    own.write_text("SELECT ?s\nWHERE {\n  ?s ?p\n}\n", encoding="utf-8")
    assert main(["query", "run", "--file", str(own)]) == 2
    err = one_error_line(capsys.readouterr().err)
    # The triple on line 3 lacks its object: the brace on line 4 is where the parser stops.
    assert f"{own}: syntax error at line 4, column 1: " in err


def test_a_syntax_error_is_located_in_the_file_even_with_parameters(tmp_path, capsys):
    own = tmp_path / "broken.rq"
    own.write_text(
        "# title: x\n# param: s (IRI) = tkg:Treaty — a thing\n"
        "SELECT * WHERE { ?s ?p ?o . FILTER( }\n",
        encoding="utf-8",
    )
    assert main(["query", "run", "--file", str(own)]) == 2
    # The position is in the file as written, before the parameter's VALUES block is added.
    assert "syntax error at line 3, column 37: " in one_error_line(capsys.readouterr().err)


def test_an_update_is_not_a_query(tmp_path, capsys):
    own = tmp_path / "drop.rq"
    own.write_text("DROP ALL\n", encoding="utf-8")
    assert main(["query", "run", "--file", str(own)]) == 2
    assert re.search(
        r"syntax error at line 1, column \d+: ", one_error_line(capsys.readouterr().err)
    )


def test_a_missing_file_is_one_line(tmp_path, capsys):
    assert main(["query", "run", "--file", str(tmp_path / "none.rq")]) == 2
    assert "no such query file" in one_error_line(capsys.readouterr().err)


# --- parameters: ill-typed, unknown, malformed -------------------------------------------------


@pytest.mark.parametrize(
    ("param", "message"),
    [
        ("number=six", "parameter 'number' expects an integer such as 1 or 42; got 'six'"),
        ("lang=zh Hans", "parameter 'lang' expects a language tag"),
        ("treaty=treaty 1950", "parameter 'treaty' expects an IRI"),
        ("colour=red", "has no parameter 'colour' (its parameters: treaty, number, lang)"),
        ("number", "--param expects KEY=VALUE"),
    ],
)  # fmt: skip
def test_a_bad_parameter_is_one_line_naming_it(param, message, capsys):
    assert main(["query", "run", "article-text-in-a-language", "--param", param]) == 2
    assert message in one_error_line(capsys.readouterr().err)


def test_a_bad_date_names_the_parameter_and_the_type(tmp_path, capsys):
    own = tmp_path / "on.rq"
    own.write_text(
        "# title: x\n# param: day (date) = 1950-02-14 — a day\n"
        "SELECT ?e WHERE { ?e <https://w3id.org/treatykg/ontology#date> ?day }\n",
        encoding="utf-8",
    )
    assert main(["query", "run", "--file", str(own), "--param", "day=1950-02-30"]) == 2
    err = one_error_line(capsys.readouterr().err)
    assert "parameter 'day' expects a date as YYYY-MM-DD (e.g. 1950-02-14); got '1950-02-30'" in err


# --- the endpoint -------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the block ends


def test_an_unreachable_endpoint_gives_the_url_and_the_reason(capsys, monkeypatch):
    for variable in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    url = f"http://127.0.0.1:{_closed_port()}/query"
    assert main(["query", "run", "timeline", "--endpoint", url]) == 2
    err = one_error_line(capsys.readouterr().err)
    assert f"cannot reach SPARQL endpoint {url}: " in err
    assert "refused" in err.lower()


def test_an_endpoint_that_is_not_a_url_is_one_line(capsys):
    assert main(["query", "run", "timeline", "--endpoint", "localhost:7878"]) == 2
    assert "is not an http(s) URL" in one_error_line(capsys.readouterr().err)


def test_engine_and_endpoint_together_are_refused(capsys):
    args = ["query", "run", "timeline", "--engine", "rdflib", "--endpoint", "http://x/q"]
    assert main(args) == 2
    assert "either --engine or --endpoint" in one_error_line(capsys.readouterr().err)


def test_errors_in_a_real_process_print_no_traceback(tmp_path):
    result = run_process("query", "run", "timelin", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert re.fullmatch(
        r"treatykg: error: no stored query named 'timelin'; closest: timeline[^\n]*\n",
        result.stderr,
    )
