"""The site's files as ``treatykg serve`` answers them, next to the SPARQL endpoint.

The front of ``treatykg serve`` (:class:`treatykg.query_guard.QueryGuard`) passes ``/query``,
``/update`` and ``/store`` on to Oxigraph and asks :class:`SiteFiles` for every other path:

- a file of the built site, as it is (``/`` is ``index.html``);
- an entity's IRI path (``/id/person/zhou-enlai``), negotiated on ``Accept``: ``text/turtle``
  gives its Turtle, ``application/ld+json`` its JSON-LD, a browser its HTML page;
- ``/ontology``, the vocabulary's IRI: its Turtle, or a redirect to its documentation.
"""

from __future__ import annotations

import mimetypes
import shutil
import urllib.parse
from http.server import BaseHTTPRequestHandler
from pathlib import Path

SPARQL_PATHS = ("/query", "/update", "/store")
"""Paths handed to the SPARQL server behind, with anything below them."""


def is_sparql_path(target: str) -> bool:
    """True for ``/query``, ``/update``, ``/store`` and paths below them (query string aside)."""
    path = urllib.parse.urlsplit(target).path
    return any(path == p or path.startswith(p + "/") for p in SPARQL_PATHS)


NEGOTIATED = {
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "text/turtle": ".ttl",
    "application/x-turtle": ".ttl",
    "application/ld+json": ".jsonld",
}
"""The media types an entity path is offered in, and the file suffix of each."""

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".ttl": "text/turtle; charset=utf-8",
    ".jsonld": "application/ld+json",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}


def choose_suffix(accept: str | None) -> str | None:
    """The file suffix that best fits an ``Accept`` header, or None if none is acceptable.

    >>> choose_suffix("text/turtle")
    '.ttl'
    >>> choose_suffix("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
    '.html'
    >>> choose_suffix("application/ld+json;q=0.5, text/turtle;q=0.9")
    '.ttl'
    >>> choose_suffix("image/png") is None
    True
    """
    if not accept or not accept.strip():
        return ".html"
    offers: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept.split(",")):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        quality = 1.0
        for parameter in fields[1:]:
            if parameter.startswith("q="):
                try:
                    quality = float(parameter[2:])
                except ValueError:
                    quality = 0.0
        if quality <= 0:
            continue
        if media in NEGOTIATED:
            offers.append((quality, -position, NEGOTIATED[media]))
        elif media in ("*/*", "text/*", "application/*"):
            # A wildcard matches HTML first (text/*, */*), then Turtle, at a lower priority
            # than a type named exactly at the same quality.
            fallback = ".jsonld" if media == "application/*" else ".html"
            offers.append((quality - 0.0001, -position - 1000, fallback))
    if not offers:
        return None
    return max(offers)[2]


class SiteFiles:
    """Answers requests for the files of the site built in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.root = Path(folder).resolve()

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        """Answer ``handler``'s request (GET or HEAD) from the site."""
        if handler.command not in ("GET", "HEAD"):
            _plain(handler, 405, "Only GET and HEAD are served here; SPARQL is at /query.\n",
                   {"Allow": "GET, HEAD"})  # fmt: skip
            return
        path = urllib.parse.urlsplit(handler.path).path
        root = self.root
        relative = urllib.parse.unquote(path).lstrip("/")
        target = (root / relative).resolve()
        if not target.is_relative_to(root):
            _plain(handler, 404, "Not found.\n")
            return
        accept = handler.headers.get("Accept")
        if path == "/ontology":
            # The vocabulary's IRI (…/ontology#Term): its Turtle, or its documentation.
            turtle = root / "ontology" / "treatykg.ttl"
            if choose_suffix(accept) == ".ttl" and turtle.is_file():
                _file(handler, turtle, {"Vary": "Accept",
                                        "Content-Location": "/ontology/treatykg.ttl"})  # fmt: skip
            else:
                _redirect(handler, path + "/")
            return
        if target.is_dir():
            if not path.endswith("/"):
                _redirect(handler, path + "/")  # so that the index's relative links resolve
                return
            target = target / "index.html"
        if target.is_file():
            _file(handler, target)
            return
        # An IRI path without a suffix: the entity in the format the client asks for.
        offers = {s: target.with_name(target.name + s) for s in (".html", ".ttl", ".jsonld")}
        offers = {s: f for s, f in offers.items() if f.is_file()}
        if not offers or not relative:
            _plain(handler, 404, "Not found.\n")
            return
        suffix = choose_suffix(accept)
        if suffix not in offers:
            kinds = ", ".join(CONTENT_TYPES[s].split(";")[0] for s in offers)
            _plain(handler, 406, f"Not acceptable; this resource is offered as: {kinds}.\n",
                   {"Vary": "Accept"})  # fmt: skip
            return
        chosen = offers[suffix]
        location = "/" + chosen.relative_to(root).as_posix()
        _file(handler, chosen, {"Vary": "Accept", "Content-Location": location})


def _file(handler: BaseHTTPRequestHandler, file: Path, extra: dict[str, str] | None = None) -> None:
    body = file.read_bytes()
    kind = CONTENT_TYPES.get(file.suffix) or (
        mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    )
    _send(handler, 200, kind, body, extra)


def _plain(
    handler: BaseHTTPRequestHandler, status: int, text: str, extra: dict[str, str] | None = None
) -> None:
    _send(handler, status, "text/plain; charset=utf-8", text.encode("utf-8"), extra)


def _redirect(handler: BaseHTTPRequestHandler, location: str) -> None:
    _send(handler, 301, "text/plain; charset=utf-8", b"", {"Location": location, "Vary": "Accept"})


def _send(
    handler: BaseHTTPRequestHandler,
    status: int,
    kind: str,
    body: bytes,
    extra: dict[str, str] | None = None,
) -> None:
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(body)
    except OSError:
        pass  # the client has gone


def remove_site(folder: Path | None) -> None:
    """Remove a site that ``serve`` built for itself in a temporary folder."""
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
