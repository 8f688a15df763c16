"""Errors that the command line turns into one-line messages and exit codes.

Exit codes: 0 ok, 1 the answer is "no" (e.g. the graph does not conform), 2 bad input or failure.
"""

from __future__ import annotations

from pathlib import Path


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def printable(text: str) -> str:
    """Return ``text`` with every character that is not printable written as its escape, so that
    a message stays one line whatever file name or value it quotes.

    >>> printable("data\\r.ttl:1:2: caf\\udce9 \\u2028 日本")
    'data\\\\r.ttl:1:2: caf\\\\udce9 \\\\u2028 日本'
    """
    return "".join(
        ch if ch.isprintable() or ch == " " else repr(ch)[1:-1] if ch != "'" else ch for ch in text
    )


class TreatyKGError(Exception):
    """An expected failure: reported as one line, never as a traceback.

    >>> str(TreatyKGError("something\\nwent wrong"))
    'something went wrong'
    """

    exit_code: int = 2

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return _one_line(self.message)


class InputError(TreatyKGError):
    """A bad file, folder or value given to treatykg (exit code 2)."""


class ParseError(InputError):
    """A syntax error in an RDF file, located by line and column (both 1-based).

    >>> str(ParseError("graph/x.ttl", 3, 7, "A dot is expected"))
    'graph/x.ttl:3:7: A dot is expected'
    """

    def __init__(self, path: str | Path, line: int, column: int, message: str) -> None:
        super().__init__(message)
        self.path = str(path)
        self.line = line
        self.column = column

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {_one_line(self.message)}"
