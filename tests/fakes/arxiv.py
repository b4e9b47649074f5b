"""arXiv's query API: GET /api/query?search_query=...&start=&max_results=, returning an Atom feed."""

import re
from xml.sax.saxutils import escape

from .server import FakeService, Reply

ENTRIES = [
    {
        "id": "2101.00001v2",
        "title": "Fair share scheduling for\n  shared GPU clusters",
        "summary": "We study fair share scheduling of deep learning jobs on shared GPU clusters.",
        "published": "2021-01-04T10:00:00Z",
        "authors": ["Ada Example", "Ben Sample"],
        "doi": "10.1234/fairgpu.2021",
    },
    {
        "id": "1905.01234v1",
        "title": "Rate limiting with the generic cell rate algorithm",
        "summary": "A study of GCRA for per-user API quotas.",
        "published": "2019-05-03T09:00:00Z",
        "authors": ["Cora Writer"],
        "doi": None,
    },
]


def _entry_xml(entry):
    authors = "".join(f"<author><name>{escape(name)}</name></author>" for name in entry["authors"])
    doi = f"<arxiv:doi>{escape(entry['doi'])}</arxiv:doi>" if entry["doi"] else ""
    return (
        f"<entry><id>http://arxiv.org/abs/{entry['id']}</id><updated>{entry['published']}</updated>"
        f"<published>{entry['published']}</published><title>{escape(entry['title'])}</title>"
        f"<summary>  {escape(entry['summary'])}\n</summary>{authors}{doi}"
        f'<link href="http://arxiv.org/abs/{entry["id"]}" rel="alternate" type="text/html"/>'
        f'<link title="pdf" href="http://arxiv.org/pdf/{entry["id"]}" rel="related" type="application/pdf"/>'
        '<arxiv:primary_category term="cs.DC" scheme="http://arxiv.org/schemas/atom"/></entry>'
    )


def feed(entries, total=None):
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
        'xmlns:arxiv="http://arxiv.org/schemas/atom">'
        '<title type="html">ArXiv Query: fake</title><id>http://arxiv.org/api/fake</id>'
        f"<opensearch:totalResults>{len(entries) if total is None else total}</opensearch:totalResults>"
        "<opensearch:startIndex>0</opensearch:startIndex>"
        + "".join(_entry_xml(entry) for entry in entries)
        + "</feed>"
    )


def answer(request):
    if request.path != "/api/query":
        return Reply.text(404, "not found")
    terms = [term.lower() for term in re.findall(r"all:([\w.-]+)", request.query.get("search_query", ""))]
    if not terms:
        error = {
            "id": "http://arxiv.org/api/errors#incorrect_id_format",
            "title": "Error",
            "summary": "search_query is empty",
            "published": "2026-01-01T00:00:00Z",
            "authors": ["arXiv api core"],
            "doi": None,
        }
        return Reply.text(400, feed([error]), content_type="application/atom+xml")
    limit = int(request.query.get("max_results", 10))
    found = [entry for entry in ENTRIES if all(term in (entry["title"] + entry["summary"]).lower() for term in terms)]
    return Reply.text(200, feed(found[:limit], total=len(found)), content_type="application/atom+xml")


def error_reply(status):
    return Reply.text(status, f"fake arXiv error {status}")


def make_server():
    return FakeService("arxiv", answer, error_reply)
