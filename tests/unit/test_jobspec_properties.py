"""Property-based checks: no job field escapes the workspace, reaches a shell unquoted or adds a batch directive."""

import os
import shlex
import string
from pathlib import Path

import pytest
from django.conf import settings
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from apps.code_app.models import Job
from apps.code_app.schedulers.slurm import SlurmScheduler
from apps.code_app.services.jobspec import NAME_PATTERN, parse_time_limit, validate_job_spec
from apps.code_app.services.workspace import resolve_inside, user_workspace
from apps.core.exceptions import InvalidJobSpec

SHELL_SPECIALS = "\n\r\t \"'`$\\;&|<>(){}[]*?!#~%^=,.:/-_\x00\x01\x7f"
hostile_text = st.text(
    alphabet=st.sampled_from(list(SHELL_SPECIALS) + list(string.ascii_letters + string.digits) + ["é", "\u202e", "\ufffd"]),
    max_size=40,
)
surrogate_text = st.binary(max_size=30).map(lambda raw: raw.decode("utf-8", errors="surrogateescape"))
any_text = st.one_of(hostile_text, surrogate_text, st.text(max_size=40))
numbers_as_text = st.one_of(
    st.integers(-10**6, 10**6).map(str), st.floats(allow_nan=True).map(str), any_text,
    st.integers(1, 16).map(lambda n: f"{n}\n#SBATCH --uid=0"),
)
FUZZ = hypothesis_settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@pytest.fixture
def workspace_user(db, isolated_workspaces):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("fuzz")
    folder = user_workspace(user.pk)
    (folder / "ok.py").write_text("print(1)\n")
    return user


def fields_strategy():
    return st.fixed_dictionaries(
        {},
        optional={
            "name": any_text,
            "partition": st.one_of(st.sampled_from(["normal", "express", "long"]), any_text),
            "cpus": st.one_of(st.integers(-5, 40), numbers_as_text),
            "memory_gb": st.one_of(st.integers(-5, 40), numbers_as_text),
            "time_limit": st.one_of(st.sampled_from(["5", "1:00:00", "0-02:00", "7-00:00:00"]), numbers_as_text),
            "environment": st.one_of(st.dictionaries(any_text, any_text, max_size=4), any_text),
        },
    )


@FUZZ
@given(fields=fields_strategy())
def test_accepted_specs_hold_only_safe_values(workspace_user, fields):
    data = {"script_path": "ok.py", **fields}
    try:
        spec = validate_job_spec(workspace_user.pk, data)
    except InvalidJobSpec as error:
        assert error.field in error.errors
        assert error.errors[error.field]
        return

    assert NAME_PATTERN.fullmatch(spec.name)
    assert spec.partition in settings.PARTITIONS
    assert 1 <= spec.cpus <= 16
    assert 1 <= spec.memory_gb <= 24
    assert 1 <= spec.time_limit_minutes <= settings.PARTITIONS[spec.partition]
    for key, value in spec.environment.items():
        assert key.isidentifier() and key.isascii()
        assert "\x00" not in value


@FUZZ
@given(path=st.one_of(any_text, st.lists(st.sampled_from(["..", ".", "ok.py", "a", "/", "//", "~"]), max_size=6).map("/".join)))
def test_script_path_never_resolves_outside_workspace(workspace_user, path):
    workspace = user_workspace(workspace_user.pk).resolve()
    try:
        spec = validate_job_spec(workspace_user.pk, {"script_path": path})
    except InvalidJobSpec as error:
        assert error.field in ("script_path", "script")
        return

    resolved = (workspace / spec.script_path).resolve()
    assert workspace in resolved.parents
    assert resolved.is_file()


@FUZZ
@given(link_name=st.text(alphabet=string.ascii_letters, min_size=1, max_size=10), target=st.sampled_from(["/etc/passwd", "/", "..", "../..", "/tmp"]))
def test_symlinks_out_of_workspace_are_rejected(workspace_user, link_name, target):
    workspace = user_workspace(workspace_user.pk)
    link = workspace / f"{link_name}.py"
    assume(not link.exists() and not link.is_symlink())
    os.symlink(target, link)
    try:
        assert resolve_inside(workspace, link.name) is None or Path(target).resolve() == workspace
        with pytest.raises(InvalidJobSpec):
            validate_job_spec(workspace_user.pk, {"script_path": link.name})
    finally:
        link.unlink()


@FUZZ
@given(text=numbers_as_text)
def test_time_limit_parser_accepts_only_slurm_forms(text):
    minutes = parse_time_limit(text)
    if minutes is not None:
        assert text.strip() == text
        assert set(text) <= set(string.digits + ":-")
        assert minutes >= 0


@FUZZ
@given(fields=fields_strategy())
def test_batch_script_and_sbatch_arguments_stay_quoted(workspace_user, fields, settings):
    settings.SLURM_CONTAINER_RUNTIME = "apptainer"
    try:
        spec = validate_job_spec(workspace_user.pk, {"script_path": "ok.py", **fields})
    except InvalidJobSpec:
        return
    job = Job(
        pk=1, owner=workspace_user, backend="slurm", name=spec.name, partition=spec.partition, cpus=spec.cpus,
        memory_gb=spec.memory_gb, time_limit_minutes=spec.time_limit_minutes, script_path=spec.script_path,
        environment=spec.environment,
    )
    backend = SlurmScheduler()

    script = backend.batch_script(job)
    arguments = backend.sbatch_arguments(job, "u_1", Path("/tmp/batch.sh"), "platform-job-1-abc")

    assert "#SBATCH" not in script
    lines = script.splitlines()
    assert lines[0] == "#!/bin/bash"
    for line in lines[1:]:
        tokens = shlex.split(line)
        if tokens[0] == "export":
            name, _, value = tokens[1].partition("=")
            assert name.startswith(("APPTAINERENV_", "PATH"))
            if name.startswith("APPTAINERENV_") and name[len("APPTAINERENV_"):] in spec.environment:
                assert value == spec.environment[name[len("APPTAINERENV_"):]]
    exported = [shlex.split(line)[1] for line in lines if line.startswith("export APPTAINERENV_")]
    assert len(exported) == len(spec.environment) + 4
    assert all("\n" not in argument and "\r" not in argument for argument in arguments)
    assert f"--job-name={spec.name}" in arguments
    assert arguments[-1] == "/tmp/batch.sh"
    assert all(argument.startswith("--") for argument in arguments[2:-1])


@FUZZ
@given(content=st.binary(max_size=200), filename=any_text)
def test_uploaded_scripts_are_text_with_safe_names(workspace_user, content, filename):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("x", content)
    # Set past Django's own check, to see what the validator does with any name.
    upload._name = filename
    try:
        spec = validate_job_spec(workspace_user.pk, {}, {"script_file": upload})
    except InvalidJobSpec as error:
        assert error.field in ("script_file", "script", "name")
        return

    assert spec.script_content == content
    content.decode("utf-8")
    assert b"\x00" not in content
    assert "/" not in spec.script_filename
    assert not spec.script_filename.startswith(".")
