"""arXiv's query API: GET {ARXIV_BASE_URL}?search_query=...&start=0&max_results=N, returning Atom XML."""

import re
from xml.etree import ElementTree

from django.conf import settings

from apps.writer_app.services.upstream import UpstreamError, send

from .papers import paper

SERVICE = "arXiv API"
ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
# arXiv's field prefixes; a query using one is passed on as written.
_FIELD_QUERY = re.compile(r"\b(?:ti|au|abs|co|jr|cat|rn|id|all):")
_TERM = re.compile(r"[\w.-]+")


def build_query(query):
    """Return arXiv's search_query for free text: every word must appear in some field."""
    if _FIELD_QUERY.search(query):
        return query
    return " AND ".join(f"all:{term}" for term in _TERM.findall(query))


def search(query, limit):
    # arXiv responds to a malformed query with 400 and an Atom feed whose one
    # entry describes the error, which parse_feed turns into its message.
    response = send(
        "GET", settings.ARXIV_BASE_URL, service=SERVICE, timeout=settings.SCHOLAR_TIMEOUT, also_accept=(400,),
        params={"search_query": build_query(query), "start": 0, "max_results": limit},
    )
    papers = parse_feed(response.content)
    if response.status_code == 400:
        raise UpstreamError(f"{SERVICE} returned HTTP 400 for the query {query!r}.", status_code=400)
    return papers[:limit]


def parse_feed(content):
    """Return the paper records of an arXiv Atom feed; raise UpstreamError for an error entry or bad XML."""
    # NOTE: ElementTree relies on expat's own limits against entity
    # expansion attacks; the feed comes from the configured arXiv host only.
    try:
        root = ElementTree.fromstring(content)
    except ElementTree.ParseError as exc:
        raise UpstreamError(f"{SERVICE} returned XML that does not parse: {exc}.") from None
    return [_entry_paper(entry) for entry in root.findall(f"{ATOM}entry")]


def _entry_paper(entry):
    entry_id = _text(entry, f"{ATOM}id")
    if "/api/errors" in entry_id:
        raise UpstreamError(f"{SERVICE} rejected the query: {_text(entry, f'{ATOM}summary')}")
    published = _text(entry, f"{ATOM}published")
    alternate = next(
        (link.get("href") for link in entry.findall(f"{ATOM}link") if link.get("rel") == "alternate"), entry_id
    )
    return paper(
        title=_text(entry, f"{ATOM}title"),
        authors=[_text(author, f"{ATOM}name") for author in entry.findall(f"{ATOM}author")],
        year=int(published[:4]) if published[:4].isdigit() else None,
        summary=_text(entry, f"{ATOM}summary") or None,
        doi=_text(entry, f"{ARXIV}doi") or None,
        url=alternate,
        source="arxiv",
        external_id="arXiv:" + entry_id.rsplit("/abs/", 1)[-1],
    )


def _text(element, tag):
    found = element.find(tag)
    return " ".join((found.text or "").split()) if found is not None else ""
