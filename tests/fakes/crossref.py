"""Crossref's REST API: GET /works/{doi} returns {"status": "ok", "message": work}, or 404 "Resource not found."."""

from urllib.parse import unquote

from .server import FakeService, Reply

WORKS = {
    "10.1145/35043.35047": {
        "DOI": "10.1145/35043.35047",
        "type": "journal-article",
        "title": ["A fair share scheduler"],
        "author": [
            {"given": "J.", "family": "Kay", "sequence": "first", "affiliation": []},
            {"given": "P.", "family": "Lauder", "sequence": "additional", "affiliation": []},
        ],
        "container-title": ["Communications of the ACM"],
        "publisher": "Association for Computing Machinery (ACM)",
        "issued": {"date-parts": [[1988, 1]]},
        "abstract": "<jats:p>Central processing unit time is shared among users.</jats:p>",
        "URL": "https://doi.org/10.1145/35043.35047",
    },
}


def answer(request):
    prefix = "/works/"
    if not request.path.startswith(prefix):
        return Reply.text(404, "Resource not found.")
    doi = unquote(request.path[len(prefix):]).lower()
    work = WORKS.get(doi)
    if work is None:
        return Reply.text(404, "Resource not found.")
    return Reply.json(200, {"status": "ok", "message-type": "work", "message-version": "1.0.0", "message": work})


def error_reply(status):
    return Reply.json(status, {"status": "error", "message-type": "exception", "message": f"fake error {status}"})


def make_server():
    return FakeService("crossref", answer, error_reply)
