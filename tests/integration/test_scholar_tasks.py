"""Scholar tasks end to end: API, Redis, a real Celery worker, and fake arXiv, PubMed and Crossref."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.code_app.models import Job
from apps.code_app.services.workspace import user_workspace
from tests.conftest import wait_for_state
from tests.fakes.pdfs import make_corrupt_pdf, make_pdf
from tests.integration.celery_worker import wait_for_task

pytestmark = [pytest.mark.django_db(transaction=True)]


def search(client, query, **extra):
    response = client.post("/scholar/api/search/", {"query": query, **extra}, format="json")
    assert response.status_code == 202, response.content
    return wait_for_task(response.json()["task_id"])


def upload(client, *files):
    uploads = [SimpleUploadedFile(name, content, content_type="application/pdf") for name, content in files]
    return client.post("/scholar/api/pdf/", {"file": uploads}, format="multipart")


def test_offline_search_finds_shipped_records(live_worker, owner_client):
    record = search(owner_client, "fair share scheduler")

    assert record.state == "SUCCESS", record.error
    assert record.result["source"] == "offline"
    assert "offline" in record.result["label"]
    first = record.result["papers"][0]
    assert first["title"] == "A Fair Share Scheduler"
    assert first["authors"] == ["J. Kay", "P. Lauder"]
    assert first["year"] == 1988
    assert first["doi"] == "10.1145/35043.35047"
    assert first["external_id"] == "doi:10.1145/35043.35047"
    assert set(first) >= {"title", "authors", "year", "summary", "doi", "url", "source", "external_id"}


def test_arxiv_search_is_normalised(live_worker, owner_client, settings, fake_services):
    settings.SCHOLAR_PROVIDER = "arxiv"

    record = search(owner_client, "fair share", limit=5)

    assert record.state == "SUCCESS", record.error
    assert record.result["papers"] == [
        {
            "title": "Fair share scheduling for shared GPU clusters",
            "authors": ["Ada Example", "Ben Sample"],
            "year": 2021,
            "summary": "We study fair share scheduling of deep learning jobs on shared GPU clusters.",
            "doi": "10.1234/fairgpu.2021",
            "url": "http://arxiv.org/abs/2101.00001v2",
            "source": "arxiv",
            "external_id": "arXiv:2101.00001v2",
        }
    ]
    [request] = fake_services.arxiv.requests
    assert request.query == {"search_query": "all:fair AND all:share", "start": "0", "max_results": "5"}


def test_pubmed_search_uses_esearch_then_esummary(live_worker, owner_client, settings, fake_services):
    settings.SCHOLAR_PROVIDER = "arxiv"

    record = search(owner_client, "fair scheduling", source="pubmed")

    assert record.state == "SUCCESS", record.error
    [paper] = record.result["papers"]
    assert paper["title"] == "Fair scheduling of sequencing pipelines on shared clusters."
    assert paper["authors"] == ["Example A", "Sample B"]
    assert paper["year"] == 2019
    assert paper["summary"] is None
    assert paper["doi"] == "10.1038/s41592-019-0000-0"
    assert paper["url"] == "https://pubmed.ncbi.nlm.nih.gov/31452104/"
    assert paper["external_id"] == "PMID:31452104"
    assert [request.path for request in fake_services.pubmed.requests] == ["/esearch.fcgi", "/esummary.fcgi"]
    assert fake_services.pubmed.requests[1].query["id"] == "31452104"


def test_search_429_then_success(live_worker, owner_client, settings, fake_services):
    settings.SCHOLAR_PROVIDER = "arxiv"
    fake_services.arxiv.fail(429, times=1, headers={"Retry-After": "1"})

    record = search(owner_client, "fair share")

    assert record.state == "SUCCESS", record.error
    assert record.attempts == 2
    assert len(record.result["papers"]) == 1


def test_search_5xx_forever_fails(live_worker, owner_client, settings, fake_services):
    settings.SCHOLAR_PROVIDER = "arxiv"
    fake_services.pubmed.fail(502, times=None)

    record = search(owner_client, "fair", source="pubmed")

    assert record.state == "FAILURE"
    assert record.error == (
        "PubMed E-utilities returned HTTP 502 (API rate limit exceeded). Gave up after 3 attempts."
    )


def test_search_source_off_when_offline(live_worker, owner_client):
    response = owner_client.post("/scholar/api/search/", {"query": "fair", "source": "arxiv"}, format="json")

    assert response.status_code == 400
    assert response.json()["field"] == "source"
    assert "SCHOLAR_PROVIDER=offline" in response.json()["detail"]


def test_pdf_text_metadata_and_pages(live_worker, owner_client):
    response = upload(owner_client, ("paper.pdf", make_pdf(pages=2)))

    assert response.status_code == 202, response.content
    record = wait_for_task(response.json()["task_id"])
    assert record.state == "SUCCESS", record.error
    assert record.result["filename"] == "paper.pdf"
    assert record.result["pages"] == 2
    assert record.result["metadata"] == {"title": "Test paper", "author": "Ada Example"}
    assert record.result["text"] == "Fair share scheduling page 1\nFair share scheduling page 2"


def test_corrupt_pdf_fails_clearly(live_worker, owner_client):
    response = upload(owner_client, ("broken.pdf", make_corrupt_pdf()))

    record = wait_for_task(response.json()["task_id"])
    assert record.state == "FAILURE"
    assert record.error.startswith("broken.pdf is not a readable PDF: ")


def test_upload_without_pdf_header_is_rejected(live_worker, owner, owner_client):
    response = upload(owner_client, ("notes.pdf", b"just some text"))

    assert response.status_code == 400
    assert response.json()["detail"] == "notes.pdf is not a PDF: it has no %PDF- header in its first 1024 bytes."
    assert not (user_workspace(owner.pk) / "uploads").exists()


def test_several_pdfs_become_one_task_each(live_worker, owner_client):
    response = upload(owner_client, ("a.pdf", make_pdf(text="Alpha")), ("b.pdf", make_pdf(text="Beta")))

    assert response.status_code == 202, response.content
    tasks = response.json()["tasks"]
    records = [wait_for_task(task["task_id"]) for task in tasks]
    assert [record.state for record in records] == ["SUCCESS", "SUCCESS"]
    assert sorted(record.result["text"] for record in records) == ["Alpha page 1", "Beta page 1"]


def test_crossref_metadata_by_doi(live_worker, owner_client, settings, fake_services):
    settings.METADATA_PROVIDER = "crossref"

    response = owner_client.post("/scholar/api/metadata/", {"doi": "https://doi.org/10.1145/35043.35047"}, format="json")
    record = wait_for_task(response.json()["task_id"])

    assert record.state == "SUCCESS", record.error
    paper = record.result["paper"]
    assert paper["title"] == "A fair share scheduler"
    assert paper["authors"] == ["J. Kay", "P. Lauder"]
    assert paper["year"] == 1988
    assert paper["summary"] == "Central processing unit time is shared among users."
    assert paper["journal"] == "Communications of the ACM"
    assert paper["source"] == "crossref"
    [request] = fake_services.crossref.requests
    assert request.path == "/works/10.1145%2F35043.35047"


def test_unknown_doi_fails_clearly(live_worker, owner_client, settings):
    settings.METADATA_PROVIDER = "crossref"

    response = owner_client.post("/scholar/api/metadata/", {"doi": "10.9999/no-such-paper"}, format="json")
    record = wait_for_task(response.json()["task_id"])

    assert record.state == "FAILURE"
    assert record.error == "DOI 10.9999/no-such-paper was not found at Crossref (404); check it for typos."
    assert record.attempts == 1


def test_offline_metadata_and_malformed_doi(live_worker, owner_client):
    found = owner_client.post("/scholar/api/metadata/", {"doi": "10.1038/NATURE14539"}, format="json")
    malformed = owner_client.post("/scholar/api/metadata/", {"doi": "nature14539"}, format="json")

    record = wait_for_task(found.json()["task_id"])
    assert record.state == "SUCCESS", record.error
    assert record.result["paper"]["title"] == "Deep learning"
    assert malformed.status_code == 400
    assert malformed.json()["detail"] == "doi must look like 10.1234/example; got 'nature14539'."


@pytest.mark.usefixtures("cancel_leftover_jobs")
def test_pdf_batch_becomes_one_compute_job(live_worker, owner, owner_client, settings):
    files = [(f"paper-{index}.pdf", make_pdf(text=f"Paper {index}")) for index in range(settings.COMPUTE_BATCH_THRESHOLD)]
    files[7] = ("broken.pdf", make_corrupt_pdf())

    response = upload(owner_client, *files)

    assert response.status_code == 202, response.content
    body = response.json()
    assert body["tier"] == "compute"
    assert body["files"] == 100
    assert body["detail"].startswith(f"100 PDFs became compute job {body['job_id']}; ")
    job = wait_for_state(body["job_id"], "COMPLETED", "FAILED", timeout=90)
    assert job.state == "COMPLETED"
    assert Job.objects.filter(owner=owner).count() == 1
    results = json.loads((user_workspace(owner.pk) / body["results_path"]).read_text())
    assert results["files"] == 100
    assert results["failed"] == 1
    assert results["results"][0]["text"] == "Paper 0 page 1"
    assert results["results"][7]["error"].startswith("0008-broken.pdf is not a readable PDF")
