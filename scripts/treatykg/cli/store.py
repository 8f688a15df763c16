"""``treatykg load --endpoint URL ...`` and ``treatykg serve``: the graph in a SPARQL store."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from treatykg import query_guard, remote_store, server, tempfiles
from treatykg.errors import InputError
from treatykg.remote_store import DEFAULT_BACKOFF, DEFAULT_RETRIES, DEFAULT_TIMEOUT

_CREDENTIALS_HELP = (
    "Credentials come from the environment (TREATYKG_USER and TREATYKG_PASSWORD, or "
    "TREATYKG_TOKEN for a bearer token) or from ~/.netrc (or the file $NETRC names), never from "
    "the command line, and are never printed."
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``load`` and ``serve`` commands."""
    load = subparsers.add_parser(
        "load",
        help="load the ontology and the graph into a SPARQL 1.1 store, then verify the counts",
        description=(
            "Load the ontology and the graph, one named graph per source, into a SPARQL 1.1 "
            "store by the Graph Store Protocol (SPARQL Update where the store has none), then "
            "count the triples of each graph in the store and compare them with the local "
            "counts. Every file is checked before anything is sent. A load that fails leaves "
            "the store's graphs as they were. Exit status: 0 loaded and verified, 1 loaded but a "
            "count differs, 2 bad input or failure (the store was not changed)."
        ),
        epilog=_CREDENTIALS_HELP,
    )
    where = load.add_argument_group("where the store is")
    where.add_argument(
        "--endpoint",
        metavar="URL",
        help="an Oxigraph server's base URL, e.g. http://127.0.0.1:7878 (its /query, /update "
        "and /store); the three options below override one URL each, for other stores",
    )
    where.add_argument("--query-url", metavar="URL", help="the SPARQL query endpoint")
    where.add_argument("--update-url", metavar="URL", help="the SPARQL update endpoint")
    where.add_argument(
        "--store-url",
        metavar="URL",
        help="the Graph Store Protocol endpoint, or 'none' to load with SPARQL Update only",
    )
    what = load.add_argument_group("what to load")
    what.add_argument(
        "files",
        nargs="*",
        type=Path,
        metavar="FILE",
        help="RDF files to load instead of the project's ontology and graph "
        "(each into https://w3id.org/treatykg/graph/user/<name>, or into --graph)",
    )
    what.add_argument(
        "--graph",
        metavar="IRI",
        help="load everything into this one named graph instead of one graph per source",
    )
    mode = what.add_mutually_exclusive_group()
    mode.add_argument(
        "--replace",
        dest="mode",
        action="store_const",
        const="replace",
        help="each graph loaded ends up holding exactly the local triples (the default)",
    )
    mode.add_argument(
        "--append",
        dest="mode",
        action="store_const",
        const="append",
        help="add the local triples to what each graph already holds",
    )
    how = load.add_argument_group("how")
    for flag, default, text in (
        ("--timeout", DEFAULT_TIMEOUT, "how long to wait on any one network operation"),
        ("--retries", DEFAULT_RETRIES, "retries of a failed request (backoff, Retry-After)"),
        ("--backoff", DEFAULT_BACKOFF, "the first pause between retries, doubled each time"),
    ):
        how.add_argument(
            flag,
            type=type(default),
            default=default,
            metavar="N" if isinstance(default, int) else "SECONDS",
            help=f"{text} (default: %(default)s)",
        )
    how.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show upload progress on stderr (default: when stderr is a terminal)",
    )
    load.set_defaults(func=run_load, mode=None)

    serve = subparsers.add_parser(
        "serve",
        help="start a local Oxigraph server with the graph loaded",
        description=(
            "Start an Oxigraph server on 127.0.0.1 with the ontology and the graph loaded (one "
            "named graph per source; queries see their union as the default graph), print its "
            "URLs, and stop it cleanly on Ctrl-C. It is read-only by default, as a published "
            "dataset's endpoint is (updates and Graph Store writes are refused with HTTP 403), "
            "and stops any query that runs longer than --timeout."
        ),
    )
    serve.add_argument(
        "--port",
        type=int,
        default=7878,
        help="the port on 127.0.0.1 (default: %(default)s; 0 picks a free one)",
    )
    serve.add_argument(
        "--location",
        type=Path,
        metavar="DIR",
        help="keep the store on disk in DIR: a new or empty folder, or one holding a store "
        "(default: in memory)",
    )
    serve.add_argument(
        "--timeout",
        type=float,
        default=server.DEFAULT_QUERY_TIMEOUT,
        metavar="SECONDS",
        help="stop any query that runs longer than this (default: %(default)g)",
    )
    access = serve.add_mutually_exclusive_group()
    access.add_argument(
        "--read-only",
        dest="read_only",
        action="store_true",
        default=True,
        help="serve queries only: /update and Graph Store writes answer 403 (the default)",
    )
    access.add_argument(
        "--writable",
        dest="read_only",
        action="store_false",
        help="also accept SPARQL updates and Graph Store writes (e.g. for treatykg load)",
    )
    serve.add_argument(
        "--site",
        type=Path,
        metavar="DIR",
        help="serve this already built site (treatykg docs --out DIR) at / instead of building "
        "one when the server starts",
    )
    serve.set_defaults(func=run_serve)


def _sources(files: list[Path]) -> list[tuple[Path, str]]:
    from treatykg.loading import graph_name_for, project_files

    if files:
        return [(path, graph_name_for(path)) for path in files]
    return project_files()


def run_load(args: argparse.Namespace) -> int:
    """Load, verify, print the table; 1 if a count differs."""
    endpoint = remote_store.resolve_endpoint(
        args.endpoint,
        query_url=args.query_url,
        update_url=args.update_url,
        store_url=args.store_url,
    )
    into = remote_store.check_graph_iri(args.graph) if args.graph else None
    progress = remote_store.Progress(sys.stderr, enabled=args.progress)
    client = remote_store.HttpClient(
        timeout=args.timeout, retries=args.retries, backoff=args.backoff, progress=progress
    )
    # SIGTERM (from `kill`, a service manager) ends a load as Ctrl-C does: in order, saying what
    # the store holds.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        report = remote_store.load(
            endpoint, _sources(args.files), mode=args.mode or "replace", into=into, client=client
        )
    finally:
        signal.signal(signal.SIGTERM, previous)
    for note in report.notes:
        progress.note(f"treatykg: {note}")
    print(report.table())
    return 0 if report.ok else remote_store.CountMismatch.exit_code


def run_serve(args: argparse.Namespace) -> int:
    """Start the server, load the graph, serve the site, print the URLs, wait for Ctrl-C."""
    from treatykg.site import build_site
    from treatykg.site.serving import SiteFiles, remove_site

    port = server.check_port(args.port)
    timeout = server.check_timeout(args.timeout)
    if args.site is not None and not (args.site / "index.html").is_file():
        raise InputError(f"{args.site}: not a built site (no index.html); run treatykg docs")
    sources = _sources([])
    guard = query_guard.QueryGuard(port=port, timeout=timeout)  # takes the port, or says why not
    oxigraph: server.OxigraphServer | None = None
    built: Path | None = None
    # SIGTERM (from `kill`, a service manager) stops the server as Ctrl-C does.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        oxigraph, report = server.serve_graph(
            sources, location=args.location, read_only=args.read_only, timeout=timeout
        )
        # Built once the store is checked (a bad --location is refused before any work).
        site = args.site
        if site is None:
            # Named after this process: removed by the next command if this one is killed.
            built = tempfiles.private_dir("site")
            site = build_site(built / "site").folder
        guard.site = SiteFiles(site)
        print(report.table())
        guard.start(oxigraph)
        where = f"on disk in {args.location}" if args.location else "in a temporary store"
        mode = (
            "read-only (updates and Graph Store writes are refused)"
            if args.read_only
            else "writable (accepts updates and Graph Store writes)"
        )
        print(
            f"Oxigraph server at {guard.base_url} ({where}, pid {oxigraph.pid}): {mode}; "
            f"queries stop after {timeout:g} s\n"
            f"  site:   {guard.base_url}/\n"
            f"  query:  {guard.query_url}\n"
            + ("" if args.read_only else f"  update: {guard.update_url}\n")
            + f"  store:  {guard.store_url}\n"
            f"Try: treatykg query run-all --endpoint {guard.query_url}\n"
            "Press Ctrl-C to stop.",
            flush=True,
        )
        raise server.ServerError(guard.wait())
    except KeyboardInterrupt:
        guard.stop()
        if oxigraph is not None:
            oxigraph.stop()
        print("stopped", file=sys.stderr, flush=True)
        return 0
    finally:
        guard.stop()
        if oxigraph is not None:
            oxigraph.stop()
        remove_site(built)
        signal.signal(signal.SIGTERM, previous)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt
