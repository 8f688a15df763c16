"""The ``treatykg`` command: reads arguments, calls the library, maps errors to exit codes.

Each subcommand lives in its own module ``treatykg.cli.<name>`` listed in
:data:`COMMAND_MODULES`; that module defines ``register(subparsers)``, which adds its parser
and sets ``func`` (called with the parsed arguments, returning the exit code). A listed module
that does not exist yet is skipped. :data:`COMMANDS` says which module registers which command,
so that ``treatykg validate ...`` imports the validate module alone and not what the others
need (rdflib, httpx, jinja2, the server: a third of a second per process).

Exit codes: 0 ok, 1 the answer is "no" (e.g. the graph does not conform), 2 bad input or
failure (reported as one line ``treatykg: error: <message>``), 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from treatykg import __version__, tempfiles
from treatykg.errors import TreatyKGError, printable

COMMAND_MODULES = ["validate", "query", "store", "link", "export", "docs"]

COMMANDS = {
    "validate": "validate",
    "query": "query",
    "load": "store",
    "serve": "store",
    "link": "link",
    "export": "export",
    "docs": "docs",
}
"""Each command and the module of :data:`COMMAND_MODULES` that registers it."""


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Return the root parser with the subcommands of every available command module, or,
    given the name of a command, only those of the module that registers it.

    The root parser's usage line names no command, so a parser built for one command parses
    that command's arguments and words its errors as the full one does.
    """
    parser = argparse.ArgumentParser(
        prog="treatykg",
        description="Validate, query and publish the treatykg knowledge graph.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in [COMMANDS[command]] if command in COMMANDS else COMMAND_MODULES:
        module_name = f"{__name__}.{name}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name == module_name:
                continue  # not written yet
            raise
        module.register(subparsers)
    return parser


def _tidy_after_killed_runs() -> None:
    """Remove what treatykg processes killed outright (SIGKILL) left in the temporary folder."""
    removed = tempfiles.remove_stale()
    if removed:
        print(
            f"treatykg: removed {len(removed)} temporary file(s) left by a treatykg process "
            "that was killed",
            file=sys.stderr,
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    # Library warnings (rdflib, pyshacl) go through logging; keep them off the user's terminal
    # unless they are errors. Expected failures are reported by the TreatyKGError handler below.
    logging.basicConfig(level=logging.ERROR, format="treatykg: %(levelname)s: %(message)s")
    # Python warnings too (rdflib's "Parsing weird boolean" printed two lines of source code).
    logging.captureWarnings(True)
    argv = sys.argv[1:] if argv is None else list(argv)
    # Only a command given first is known before parsing; anything else (--help, no command,
    # an unknown one) needs every command's parser, for the list of commands it prints.
    parser = build_parser(argv[0] if argv else None)
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return 2
    _tidy_after_killed_runs()
    try:
        return int(args.func(args))
    except TreatyKGError as error:
        # One line, whatever the message quotes (a file name may hold a line break).
        print(f"{parser.prog}: error: {printable(str(error))}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, and keep Python from
        # complaining again when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
