"""NCBI E-utilities for PubMed: GET /esearch.fcgi and /esummary.fcgi with retmode=json."""

from .server import FakeService, Reply

SUMMARIES = {
    "31452104": {
        "uid": "31452104",
        "pubdate": "2019 Aug 26",
        "epubdate": "2019 Aug 26",
        "source": "Nat Methods",
        "authors": [
            {"name": "Example A", "authtype": "Author", "clusterid": ""},
            {"name": "Sample B", "authtype": "Author", "clusterid": ""},
        ],
        "title": "Fair scheduling of sequencing pipelines on shared clusters.",
        "fulljournalname": "Nature methods",
        "articleids": [
            {"idtype": "pubmed", "idtypen": 1, "value": "31452104"},
            {"idtype": "doi", "idtypen": 3, "value": "10.1038/s41592-019-0000-0"},
        ],
    },
}


def answer(request):
    if request.query.get("db") != "pubmed" or request.query.get("retmode") != "json":
        return Reply.json(400, {"error": "db=pubmed and retmode=json are required"})
    if request.path == "/esearch.fcgi":
        term = request.query.get("term", "").lower()
        ids = [uid for uid, record in SUMMARIES.items() if all(word in record["title"].lower() for word in term.split())]
        return Reply.json(
            200,
            {
                "header": {"type": "esearch", "version": "0.3"},
                "esearchresult": {"count": str(len(ids)), "retmax": str(len(ids)), "retstart": "0", "idlist": ids},
            },
        )
    if request.path == "/esummary.fcgi":
        ids = request.query.get("id", "").split(",")
        result = {"uids": ids}
        for uid in ids:
            result[uid] = SUMMARIES.get(uid, {"uid": uid, "error": "cannot get document summary"})
        return Reply.json(200, {"header": {"type": "esummary", "version": "0.3"}, "result": result})
    return Reply.text(404, "not found")


def error_reply(status):
    return Reply.json(status, {"error": "API rate limit exceeded", "count": "4"})


def make_server():
    return FakeService("pubmed", answer, error_reply)
