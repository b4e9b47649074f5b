"""The one paper record every source is normalised to, and the offline data set."""

import functools
import json
import re
from pathlib import Path

OFFLINE_DATA = Path(__file__).resolve().parent.parent / "data" / "offline_papers.json"
_WORD = re.compile(r"[\w-]{2,}")


def paper(*, title, authors, year, summary, doi, url, source, external_id, **extra):
    """Return a paper record; ``summary``, ``doi`` and ``url`` may be None when the source has none.

    Only http and https URLs are kept, because pages turn ``url`` into a link.
    """
    if not (isinstance(url, str) and url.lower().startswith(("https://", "http://"))):
        url = None
    return {
        "title": " ".join((title or "").split()),
        "authors": list(authors),
        "year": year,
        "summary": " ".join(summary.split()) if summary else None,
        "doi": doi.lower() if doi else None,
        "url": url,
        "source": source,
        "external_id": external_id,
        **extra,
    }


@functools.cache
def offline_papers():
    return json.loads(OFFLINE_DATA.read_text(encoding="utf-8"))["papers"]


def search_offline(query, limit):
    """Return the offline records matching most words of ``query``, best first, then newest."""
    words = {word.lower() for word in _WORD.findall(query)}
    scored = []
    for record in offline_papers():
        haystack = " ".join([record["title"], record["summary"] or "", *record["authors"]]).lower()
        score = sum(1 for word in words if word in haystack)
        if score:
            scored.append((score, record["year"], record))
    scored.sort(key=lambda item: (-item[0], -item[1]))
    return [paper(**record) for _score, _year, record in scored[:limit]]


def find_offline_doi(doi):
    """Return the offline record with this DOI (case-insensitive), or None."""
    wanted = doi.lower()
    for record in offline_papers():
        if record["doi"] and record["doi"].lower() == wanted:
            return paper(**record)
    return None
