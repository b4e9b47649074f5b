import os

import pytest

from apps.code_app.models import Job
from apps.code_app.services.jobspec import parse_time_limit
from apps.code_app.services.workspace import user_workspace

SUBMIT = "/code/api/jobs/submit/"
SCRIPT = "print('hello')\n"


def submit(client, **fields):
    data = {"script": SCRIPT, **fields}
    return client.post(SUBMIT, data, format="json")


@pytest.mark.parametrize(
    ("fields", "field", "fragment"),
    [
        ({"name": "bad name"}, "name", "letters, digits"),
        ({"name": "-x"}, "name", "starting with a letter or digit"),
        ({"name": "x" * 65}, "name", "1-64 characters"),
        ({"name": "a;rm -rf /"}, "name", "letters, digits"),
        ({"partition": "gpu"}, "partition", "one of normal, express, long"),
        ({"cpus": 0}, "cpus", "from 1 to 16"),
        ({"cpus": 17}, "cpus", "from 1 to 16"),
        ({"cpus": "2.5"}, "cpus", "whole number"),
        ({"cpus": "4\n#SBATCH --uid=0"}, "cpus", "whole number"),
        ({"cpus": True}, "cpus", "whole number"),
        ({"memory_gb": 0}, "memory_gb", "from 1 to 24 GB"),
        ({"memory_gb": 25}, "memory_gb", "from 1 to 24 GB"),
        ({"time_limit": "0"}, "time_limit", "from 1 minute"),
        ({"time_limit": "1-00:00:01"}, "time_limit", "exceeds the normal partition"),
        ({"time_limit": "8-00:00:00", "partition": "long"}, "time_limit", "from 1 minute to 10080 minutes"),
        ({"time_limit": "2:00:00", "partition": "express"}, "time_limit", "exceeds the express partition's maximum of 60"),
        ({"time_limit": "soon"}, "time_limit", "Slurm's format"),
        ({"time_limit": "10\n#SBATCH -p long"}, "time_limit", "Slurm's format"),
        ({"environment": {"1X": "a"}}, "environment", "name '1X' is invalid"),
        ({"environment": {"LD_PRELOAD": "/tmp/x.so"}}, "environment", "reserved"),
        ({"environment": {"X": "a\x00b"}}, "environment", "without NUL"),
        ({"environment": "not json"}, "environment", "JSON object"),
        ({"environment": {"FAIRSHARE_JOB_ID": "99"}}, "environment", "reserved"),
        ({"time_limit": "99999999999999999999"}, "time_limit", "from 1 minute to 10080 minutes"),
        ({"time_limit": "0-24:61:00"}, "time_limit", "Slurm's format"),
        ({"time_limit": "\u0663"}, "time_limit", "Slurm's format"),
        ({"name": "x" * 100_000}, "name", "(100002 characters)"),
    ],
)
def test_submit_rejects_invalid_field(owner_client, fields, field, fragment):
    response = submit(owner_client, **fields)

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_field"
    assert body["field"] == field
    assert fragment in body["fields"][field]
    assert not Job.objects.exists()


def test_submit_reports_every_bad_field(owner_client):
    response = submit(owner_client, cpus=99, memory_gb=99, partition="nope")

    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"cpus", "memory_gb", "partition"}


def test_submit_requires_exactly_one_script_source(owner_client):
    missing = owner_client.post(SUBMIT, {"name": "x"}, format="json")
    both = owner_client.post(SUBMIT, {"script": SCRIPT, "script_path": "a.py"}, format="json")

    assert missing.status_code == 400
    assert missing.json()["field"] == "script"
    assert both.status_code == 400
    assert "exactly one of" in both.json()["detail"]


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("../other/secret.py", "outside your workspace"),
        ("/etc/passwd", "relative to your workspace"),
        ("missing.py", "is not a file"),
        ("scripts", "is not a file"),
        ("a.py\n#SBATCH --uid=0", "must not contain NUL bytes, line breaks"),
        ("a\x00.py", "must not contain NUL bytes"),
        (5, "must be a path relative to your workspace; got 5"),
    ],
)
def test_submit_rejects_bad_script_path(owner, owner_client, path, fragment):
    (user_workspace(owner.pk) / "scripts").mkdir()

    response = submit(owner_client, script=None, script_path=path)

    assert response.status_code == 400
    assert response.json()["field"] == "script_path"
    assert fragment in response.json()["detail"]


def test_submit_rejects_symlink_out_of_workspace(owner, owner_client, tmp_path):
    outside = tmp_path / "outside.py"
    outside.write_text(SCRIPT)
    os.symlink(outside, user_workspace(owner.pk) / "link.py")

    response = submit(owner_client, script=None, script_path="link.py")

    assert response.status_code == 400
    assert "outside your workspace" in response.json()["detail"]


def test_submit_accepts_script_in_workspace(owner, owner_client):
    (user_workspace(owner.pk) / "analysis.py").write_text(SCRIPT)

    response = submit(owner_client, script=None, script_path="analysis.py", cpus="2", time_limit="00:30:00")

    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "analysis"
    assert body["cpus"] == 2
    assert body["time_limit_minutes"] == 30
    assert body["state"] == "PENDING"


def test_submit_rejects_script_of_unknown_kind(owner_client):
    response = submit(owner_client, script="just text", filename="notes.txt")

    assert response.status_code == 400
    assert "cannot tell how to run 'notes.txt'" in response.json()["detail"]


def test_submit_rejects_bad_upload_name(owner_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("my script$(id).py", SCRIPT.encode())
    response = owner_client.post(SUBMIT, {"script_file": upload}, format="multipart")

    assert response.status_code == 400
    assert response.json()["field"] == "script_file"


def test_submit_rejects_non_utf8_upload(owner_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("data.py", b"\xff\xfe\x00print(1)")
    response = owner_client.post(SUBMIT, {"script_file": upload}, format="multipart")

    assert response.status_code == 400
    assert response.json()["detail"] == "script_file must be UTF-8 text."


def test_submit_saves_upload_into_workspace(owner, owner_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("train.py", SCRIPT.encode())
    response = owner_client.post(SUBMIT, {"script_file": upload, "cpus": "1"}, format="multipart")

    assert response.status_code == 201
    saved = user_workspace(owner.pk) / response.json()["script_path"]
    assert saved.read_text() == SCRIPT
    assert response.json()["script_path"].startswith("scripts/")
    assert response.json()["script_path"].endswith("-train.py")


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("5", 5), ("5:30", 6), ("1:00:00", 60), ("2-0", 2880), ("1-01:30", 1530), ("0-00:00:59", 1)],
)
def test_parse_time_limit_formats(text, minutes):
    assert parse_time_limit(text) == minutes


def test_submit_rejects_lone_surrogate_in_environment(owner_client):
    body = '{"script": "print(1)\\n", "environment": {"X": "\\ud800"}}'

    response = owner_client.post(SUBMIT, body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["field"] == "environment"
    assert "valid Unicode" in response.json()["detail"]
