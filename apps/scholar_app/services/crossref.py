"""Crossref's REST API: GET {CROSSREF_BASE_URL}/works/{doi}, returning JSON."""

import re
from urllib.parse import quote

from django.conf import settings

from apps.writer_app.services.upstream import USER_AGENT, UpstreamError, send

from .papers import paper

SERVICE = "Crossref"
_TAG = re.compile(r"<[^>]+>")


class DoiNotFound(UpstreamError):
    """The metadata service does not know the DOI."""


def fetch(doi):
    """Return the paper record of ``doi``; raise DoiNotFound for an unknown DOI."""
    # Crossref requests a contact address in the User-Agent to use
    # its "polite" pool.
    agent = f"{USER_AGENT} (mailto:{settings.SCHOLAR_CONTACT_EMAIL})" if settings.SCHOLAR_CONTACT_EMAIL else USER_AGENT
    url = f"{settings.CROSSREF_BASE_URL.rstrip('/')}/works/{quote(doi, safe='')}"
    try:
        response = send("GET", url, service=SERVICE, timeout=settings.SCHOLAR_TIMEOUT, headers={"User-Agent": agent})
    except UpstreamError as error:
        if error.status_code == 404:
            raise DoiNotFound(f"DOI {doi} was not found at {SERVICE} (404); check it for typos.") from None
        raise
    try:
        work = response.json()["message"]
    except (ValueError, KeyError, TypeError):
        raise UpstreamError(f"{SERVICE} returned a response without a message object for DOI {doi}.") from None
    return work_paper(work)


def work_paper(work):
    """Return the paper record of one Crossref work object."""
    date = (work.get("issued") or work.get("published") or {}).get("date-parts") or [[None]]
    abstract = work.get("abstract")
    return paper(
        title=_first(work.get("title")),
        authors=[_author_name(author) for author in work.get("author", [])],
        year=date[0][0] if date and date[0] else None,
        summary=_TAG.sub(" ", abstract) if abstract else None,
        doi=work.get("DOI"),
        url=work.get("URL") or (f"https://doi.org/{work['DOI']}" if work.get("DOI") else None),
        source="crossref",
        external_id=f"doi:{work.get('DOI', '').lower()}",
        journal=_first(work.get("container-title")) or None,
        publisher=work.get("publisher"),
        type=work.get("type"),
    )


def _first(values):
    return values[0] if isinstance(values, list) and values else (values or "")


def _author_name(author):
    if author.get("name"):
        return author["name"]
    return " ".join(part for part in (author.get("given"), author.get("family")) if part)
