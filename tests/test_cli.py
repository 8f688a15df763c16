"""The ``treatykg`` command line: exit codes, one-line errors, --version."""

from __future__ import annotations

import argparse
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import treatykg
from processes import CHECKOUT_PACKAGE_PARENT, run_treatykg
from treatykg.cli import COMMAND_MODULES, COMMANDS, build_parser, main

# Line 3 holds an IRI with a space: rdflib would accept it, pyoxigraph must not.
BAD_TURTLE = """\
@prefix ex: <https://example.org/> .
ex:a ex:b ex:c .
ex:a ex:b <https://example.org/c d> .
"""


@pytest.fixture
def bad_file(tmp_path: Path) -> Path:
    path = tmp_path / "bad.ttl"
    path.write_text(BAD_TURTLE, encoding="utf-8")
    return path


def test_malformed_turtle_exits_2_with_one_line_naming_line_and_column(bad_file, capsys):
    assert main(["validate", str(bad_file)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1, err
    assert re.match(r"^treatykg: error: .*bad\.ttl:3:\d+: .*IRI", err), err
    # The column points at the IRI with the space (the 11th character of line 3).
    assert f"{bad_file}:3:11: " in err


def test_malformed_turtle_in_a_real_process_prints_no_traceback(bad_file, tmp_path):
    result = run_treatykg("validate", str(bad_file), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert re.fullmatch(r"treatykg: error: .*bad\.ttl:3:11: [^\n]+\n", result.stderr), result.stderr


def test_a_library_warning_does_not_reach_the_terminal(tmp_path):
    # rdflib warns "Parsing weird boolean" through Python's warnings, which printed two lines
    # (one of them its own source code) on stderr; found by tests/test_properties.py.
    data = tmp_path / "weird.ttl"
    data.write_text(
        '<https://example.org/a> <https://example.org/b> "yes"^^'
        "<http://www.w3.org/2001/XMLSchema#boolean> .\n",
        encoding="utf-8",
    )
    result = run_treatykg("validate", str(data), cwd=tmp_path)
    assert result.returncode in (0, 1), result.stderr
    assert "Warning" not in result.stderr and "warnings.warn" not in result.stderr
    assert "Traceback" not in result.stderr


def test_a_file_name_with_a_line_break_stays_on_one_line(tmp_path, capsys):
    # The parse error quoted the name as it was, over two lines (found by the property tests).
    bad = tmp_path / "two\nlines.ttl"
    bad.write_text(BAD_TURTLE, encoding="utf-8")
    assert main(["validate", str(bad)]) == 2
    assert capsys.readouterr().err == f"treatykg: error: {tmp_path}/two\\nlines.ttl:3:11: " + (
        "Invalid IRI code point ' '\n"
    )


def test_missing_file_exits_2_naming_it(tmp_path, capsys):
    missing = tmp_path / "no-such-file.ttl"
    assert main(["validate", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err == f"treatykg: error: {missing}: no such file\n"


def test_a_folder_given_as_a_file_exits_2(tmp_path, capsys):
    assert main(["validate", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"treatykg: error: {tmp_path}: not a file\n"


def test_unknown_extension_exits_2(tmp_path, capsys):
    path = tmp_path / "data.txt"
    path.write_text("nothing", encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    assert "unknown RDF file extension" in capsys.readouterr().err


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"treatykg {treatykg.__version__}\n"
    assert treatykg.__version__ == "0.1.0"


def test_version_through_python_dash_m(tmp_path):
    result = run_treatykg("--version", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, f"treatykg {treatykg.__version__}\n")


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "validate" in capsys.readouterr().err


def test_bad_format_is_refused_by_argparse(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["validate", "--format", "xml"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'xml'" in capsys.readouterr().err


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    return dict(parser._subparsers._group_actions[0].choices)


def test_commands_names_the_module_that_registers_each_command():
    assert "validate" in _commands(build_parser())
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"treatykg.cli.{name}")
        subparsers = argparse.ArgumentParser().add_subparsers()
        module.register(subparsers)
        registered = set(subparsers.choices)
        assert registered == {c for c, m in COMMANDS.items() if m == name}, name
    assert list(_commands(build_parser())) == list(COMMANDS)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_parser_built_for_one_command_parses_and_helps_as_the_full_one(command):
    full, alone = build_parser(), build_parser(command)
    assert list(_commands(alone)) == [c for c, m in COMMANDS.items() if m == COMMANDS[command]]
    assert _commands(alone)[command].format_help() == _commands(full)[command].format_help()
    assert alone.format_usage() == full.format_usage()  # in errors such as unknown options


def test_an_unknown_command_or_none_gets_the_full_parser(capsys):
    assert set(_commands(build_parser("no-such-command"))) == set(COMMANDS)
    assert set(_commands(build_parser(None))) == set(COMMANDS)
    with pytest.raises(SystemExit):
        main(["valdate"])
    assert "invalid choice: 'valdate' (choose from 'validate', 'query', 'load'" in (
        capsys.readouterr().err
    )


# What a command's process imports. Importing every command's modules cost a third of a second
# per process (rdflib, httpx, jinja2, the server...); `validate && query run-all` should take
# well under a second. Checked in a child process: this one has imported everything.
_NEVER_FOR_VALIDATE = {"jinja2", "httpx", "pyshacl", "owlrl", "SPARQLWrapper"} | {
    f"treatykg.{m}"
    for m in ("server", "remote_store", "query_guard", "site", "wikidata", "catalogue", "export")
}


@pytest.mark.parametrize(
    ("argv", "absent"),
    [
        (["validate"], _NEVER_FOR_VALIDATE),
        (["query", "run-all"], (_NEVER_FOR_VALIDATE - {"treatykg.catalogue"}) | {"rdflib"}),
        # Every command's parser, but none of the libraries only their work needs.
        (["--help"], {"rdflib", "jinja2", "pyshacl", "owlrl", "SPARQLWrapper"}),
    ],
)
def test_a_command_imports_only_what_it_needs(argv, absent, tmp_path):
    program = (
        "import sys\n"
        "from treatykg.cli import main\n"
        "try:\n"
        f"    code = main({argv!r})\n"
        "except SystemExit as stop:\n"  # --help
        "    code = stop.code\n"
        "open(sys.argv[1], 'w').write('\\n'.join(sys.modules))\n"
        "sys.exit(code)\n"
    )
    listing = tmp_path / "modules.txt"
    result = subprocess.run(
        [sys.executable, "-c", program, str(listing)],
        env=dict(os.environ, PYTHONPATH=str(CHECKOUT_PACKAGE_PARENT)),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    modules = set(listing.read_text().split())
    assert "treatykg.cli" in modules  # the listing is real
    assert modules & absent == set(), f"{' '.join(argv)} imported them"
