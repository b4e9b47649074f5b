"""Paper search and metadata look-ups across the configured sources."""

from . import arxiv, crossref, pubmed
from .papers import find_offline_doi, search_offline

SOURCES = ("offline", "arxiv", "pubmed")
OFFLINE_LABEL = "offline data set: no literature service was called"


class DoiNotFound(crossref.DoiNotFound):
    """The DOI is not in the offline data set."""


def search(query, source, limit):
    """Return {"source", "query", "papers": [...]} for up to ``limit`` papers from ``source``."""
    if source == "arxiv":
        papers = arxiv.search(query, limit)
    elif source == "pubmed":
        papers = pubmed.search(query, limit)
    else:
        papers = search_offline(query, limit)
    result = {"source": source, "query": query, "papers": papers}
    if source == "offline":
        result["label"] = OFFLINE_LABEL
    return result


def fetch_metadata(doi, provider):
    """Return {"provider", "doi", "paper"} for ``doi`` from "crossref" or the offline data set."""
    if provider == "crossref":
        return {"provider": provider, "doi": doi, "paper": crossref.fetch(doi)}
    record = find_offline_doi(doi)
    if record is None:
        raise DoiNotFound(
            f"DOI {doi} is not in the offline data set; set METADATA_PROVIDER=crossref to look DOIs up at Crossref."
        )
    return {"provider": "offline", "doi": doi, "paper": record, "label": OFFLINE_LABEL}
