"""``treatykg query list | show NAME | run NAME [--param k=v ...] | run --file F | run-all``."""

from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path

from treatykg import catalogue, querying
from treatykg.errors import InputError, TreatyKGError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``query`` command and its subcommands."""
    parser = subparsers.add_parser(
        "query",
        help="list, show and run the stored SPARQL queries (or your own)",
        description=(
            "The stored queries in queries/ answer questions about the treaty. Queries see the "
            "union of all named graphs as their default graph. Exit status: 0 ok, 1 an ASK "
            "query answered false, 2 bad input or failure."
        ),
    )
    commands = parser.add_subparsers(dest="query_command", metavar="SUBCOMMAND")
    parser.set_defaults(func=lambda _args: _help(parser))

    _subcommand(commands, "list", run_list, "list the stored queries: name, title, parameters")
    show = _subcommand(commands, "show", run_show, "print a stored query with its header")
    show.add_argument("name", metavar="NAME")

    run = _subcommand(commands, "run", run_one, "answer a stored query, or your own with --file")
    run.add_argument("name", metavar="NAME", nargs="?", help="a stored query (see `query list`)")
    run.add_argument("--file", type=Path, help="a SPARQL query file of your own")
    run.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a parameter value, e.g. --param lang=ru or --param treaty=treaty:treaty-1945",
    )
    _add_engine_arguments(run)

    run_all = _subcommand(
        commands, "run-all", run_every, "answer every stored query with its defaults"
    )
    _add_engine_arguments(run_all)
    run_all.add_argument(
        "--federated", action="store_true", help="also run the federated queries (needs network)"
    )


def _subcommand(commands, name: str, func, summary: str) -> argparse.ArgumentParser:
    """Add a subcommand that runs ``func``; its --help shows the function's docstring."""
    parser = commands.add_parser(name, help=summary, description=inspect.getdoc(func))
    parser.set_defaults(func=func)
    return parser


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"not a positive number of seconds: {text!r}")
    return value


def _add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        default=None,
        metavar="FORMAT",
        help=f"one of {', '.join(querying.FORMATS)} (default: table; turtle for graphs)",
    )
    parser.add_argument(
        "--endpoint",
        metavar="URL",
        help="a SPARQL endpoint to ask instead of the embedded store (its default graph must "
        "be the union of the named graphs, e.g. `oxigraph serve --union-default-graph`)",
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help=f"with --endpoint: how long to wait for its answer (default: "
        f"{querying.ENDPOINT_TIMEOUT:g} s)",
    )
    parser.add_argument(
        "--engine",
        default=None,
        metavar="ENGINE",
        help=f"embedded engine: {' or '.join(querying.ENGINES)} (default: oxigraph)",
    )


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def run_list(_args: argparse.Namespace) -> int:
    """List the stored queries: name, title and parameters with their defaults."""
    queries = catalogue.stored_queries()
    width = max((len(q.name) for q in queries), default=0)
    for query in queries:
        params = " ".join(f"{p.name}={p.default or '(required)'}" for p in query.parameters)
        line = f"{query.name:<{width}}  {query.title}"
        print(f"{line}  [{params}]" if params else line)
    return 0


def run_show(args: argparse.Namespace) -> int:
    """Print a stored query's file, its header included."""
    print(catalogue.stored_query(args.name).text, end="")
    return 0


def _parameter_values(items: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for item in items:
        key, equals, value = item.partition("=")
        if not equals or not key.strip():
            raise InputError(f"--param expects KEY=VALUE, e.g. --param lang=ru; got {item!r}")
        values[key.strip()] = value
    return values


def _check_engine(args: argparse.Namespace) -> str:
    engine = args.engine or "oxigraph"
    if engine not in querying.ENGINES:
        raise InputError(f"unknown engine {engine!r}; choose one of: {', '.join(querying.ENGINES)}")
    if args.engine and args.endpoint:
        raise InputError("give either --engine or --endpoint, not both")
    if args.format is not None and args.format not in querying.FORMATS:
        raise InputError(
            f"unknown format {args.format!r}; choose one of: {', '.join(querying.FORMATS)}"
        )
    return engine


def _default_format(answer: querying.Answer, fmt: str | None) -> str:
    if fmt:
        return fmt
    return "turtle" if answer.form in ("CONSTRUCT", "DESCRIBE") else "table"


def run_one(args: argparse.Namespace) -> int:
    """Answer a stored query (by NAME) or your own query file (--file).

    Parameters are bound as RDF terms of the type the query's header declares, never pasted into
    the query text. A query file of your own may declare parameters with the same header lines
    as the stored ones. Exit status 1 when an ASK query answers false.
    """
    engine = _check_engine(args)
    if args.file and args.name:
        raise InputError("give a stored query NAME or --file, not both")
    if args.file:
        query = catalogue.read_query_file(args.file)
    elif args.name:
        query = catalogue.stored_query(args.name)
    else:
        raise InputError("name a stored query (see `treatykg query list`) or give --file")
    values = _parameter_values(args.param)
    answer = querying.run(
        query, values, endpoint=args.endpoint, engine=engine, timeout=_timeout(args)
    )
    print(querying.format_answer(answer, _default_format(answer, args.format)), end="")
    return 1 if answer.form == "ASK" and not answer.boolean else 0


def _timeout(args: argparse.Namespace) -> float:
    if args.timeout is not None and not args.endpoint:
        raise InputError("--timeout is for --endpoint (the embedded store answers locally)")
    return querying.ENDPOINT_TIMEOUT if args.timeout is None else args.timeout


def run_every(args: argparse.Namespace) -> int:
    """Answer every stored query with its defaults, each under its title.

    A query that fails is reported and the others still run (exit status 2 at the end).
    Federated queries (SERVICE: they ask another endpoint, by default Wikidata's, over the
    internet) are listed but not run unless --federated is given.
    """
    engine = _check_engine(args)
    queries = catalogue.stored_queries()
    store = dataset = None
    if not args.endpoint:
        if engine == "rdflib":
            dataset = querying.open_rdflib_dataset()
        else:
            store = querying.open_store()
    failed = []
    for index, query in enumerate(queries):
        print(("\n" if index else "") + f"## {query.title} ({query.name})\n", flush=True)
        if querying.is_federated(query.text) and not args.federated:
            print("(federated: asks another endpoint; not run without --federated)")
            continue
        try:
            answer = querying.run(
                query,
                endpoint=args.endpoint,
                engine=engine,
                store=store,
                dataset=dataset,
                timeout=_timeout(args),
            )
            print(querying.format_answer(answer, _default_format(answer, args.format)), end="")
        except TreatyKGError as error:
            failed.append(query.name)
            print(f"(no answer: {error})")
            print(f"treatykg: error: {query.name}: {error}", file=sys.stderr)
    if failed:
        raise TreatyKGError(f"{len(failed)} of {len(queries)} queries failed: {', '.join(failed)}")
    return 0
