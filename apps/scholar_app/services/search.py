"""Literature search. NOTE: only an offline data set exists so far."""

import os

OFFLINE_PAPERS = [
    {"title": "Fair share scheduling for batch clusters", "year": 2019, "source": "offline"},
    {"title": "Rate limiting with the generic cell rate algorithm", "year": 2021, "source": "offline"},
    {"title": "Measuring fairness with Jain's index", "year": 1984, "source": "offline"},
]


def search_offline(query, limit=10):
    words = query.lower().split()
    hits = [paper for paper in OFFLINE_PAPERS if any(word in paper["title"].lower() for word in words)]
    return {"provider": "offline", "query": query, "papers": hits[:limit]}


def describe_upload(path):
    return {"path": os.path.basename(path), "bytes": os.path.getsize(path)}
