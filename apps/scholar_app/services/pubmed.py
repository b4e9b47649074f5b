"""PubMed through NCBI's E-utilities: esearch.fcgi for ids, then esummary.fcgi for the records, both as JSON."""

import re

from django.conf import settings

from apps.writer_app.services.upstream import UpstreamError, send

from .papers import paper

SERVICE = "PubMed E-utilities"
TOOL_NAME = "fairshare-platform"


def search(query, limit):
    ids = _search_ids(query, limit)
    if not ids:
        return []
    summaries = _get_json("esummary.fcgi", {"id": ",".join(ids)}).get("result")
    if not isinstance(summaries, dict):
        raise UpstreamError(f"{SERVICE} returned an esummary response without a result object.")
    records = [summaries.get(uid) for uid in summaries.get("uids", ids)]
    return [_summary_paper(record) for record in records if isinstance(record, dict) and "error" not in record]


def _search_ids(query, limit):
    body = _get_json("esearch.fcgi", {"term": query, "retmax": limit})
    result = body.get("esearchresult")
    if not isinstance(result, dict):
        raise UpstreamError(f"{SERVICE} returned an esearch response without an esearchresult object: {body.get('error', body)}.")
    if result.get("ERROR"):
        raise UpstreamError(f"{SERVICE} rejected the query: {result['ERROR']}.")
    return [str(uid) for uid in result.get("idlist", [])][:limit]


def _get_json(endpoint, params):
    params = {"db": "pubmed", "retmode": "json", "tool": TOOL_NAME, **params}
    if settings.SCHOLAR_CONTACT_EMAIL:
        params["email"] = settings.SCHOLAR_CONTACT_EMAIL
    if settings.NCBI_API_KEY:
        params["api_key"] = settings.NCBI_API_KEY
    url = f"{settings.PUBMED_BASE_URL.rstrip('/')}/{endpoint}"
    response = send("GET", url, service=SERVICE, timeout=settings.SCHOLAR_TIMEOUT, params=params)
    try:
        body = response.json()
    except ValueError:
        raise UpstreamError(f"{SERVICE} returned a {endpoint} body that is not JSON.") from None
    if not isinstance(body, dict):
        raise UpstreamError(f"{SERVICE} returned {endpoint} JSON that is not an object.")
    return body


def _summary_paper(record):
    uid = str(record.get("uid", ""))
    year = re.match(r"\d{4}", record.get("pubdate") or record.get("epubdate") or "")
    ids = {item.get("idtype"): item.get("value") for item in record.get("articleids", []) if isinstance(item, dict)}
    authors = [
        author.get("name", "") for author in record.get("authors", []) if author.get("authtype", "Author") == "Author"
    ]
    return paper(
        title=record.get("title", ""),
        authors=authors,
        year=int(year.group()) if year else None,
        # esummary carries no abstract; efetch would be one more request per search.
        summary=None,
        doi=ids.get("doi"),
        url=f"https://pubmed.ncbi.nlm.nih.gov/{uid}/",
        source="pubmed",
        external_id=f"PMID:{uid}",
        journal=record.get("fulljournalname") or record.get("source"),
    )
