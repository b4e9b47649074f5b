"""Validation of job submissions.

Every value that later reaches a command line or a batch script is checked
here against a strict pattern or range. Errors name the field and say what to
send instead.
"""

import json
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from django.conf import settings

from apps.core.exceptions import InvalidJobSpec

from .workspace import resolve_inside, user_workspace

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
FILENAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
ENV_KEY_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
RESERVED_ENV_PREFIXES = ("SLURM_", "APPTAINER", "SINGULARITY", "LD_", "PYTHON", "BASH_", "FAIRSHARE_")
RESERVED_ENV_KEYS = {"PATH", "HOME", "USER", "SHELL", "IFS", "ENV", "PS4"}
MAX_ENV_VARS = 64
MAX_ENV_VALUE_CHARS = 4096
# Slurm's time formats: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S, in ASCII digits, with
# minutes and seconds below 60 and hours below 24 after a day count.
TIME_PATTERNS = [
    (re.compile(r"([0-9]{1,30})"), ("minutes",)),
    (re.compile(r"([0-9]{1,6}):([0-5]?[0-9])"), ("minutes", "seconds")),
    (re.compile(r"([0-9]{1,4}):([0-5]?[0-9]):([0-5]?[0-9])"), ("hours", "minutes", "seconds")),
    (re.compile(r"([0-9]{1,3})-([01]?[0-9]|2[0-3])"), ("days", "hours")),
    (re.compile(r"([0-9]{1,3})-([01]?[0-9]|2[0-3]):([0-5]?[0-9])"), ("days", "hours", "minutes")),
    (re.compile(r"([0-9]{1,3})-([01]?[0-9]|2[0-3]):([0-5]?[0-9]):([0-5]?[0-9])"), ("days", "hours", "minutes", "seconds")),
]
_SECONDS = {"days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}
INTERPRETERS = {".py": "python", ".sh": "bash", ".bash": "bash"}


def shown(value, limit=60):
    """Return ``value`` for an error message, shortened so a huge input does not come back whole."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


@dataclass(frozen=True)
class JobSpec:
    name: str
    partition: str
    cpus: int
    memory_gb: int
    time_limit_minutes: int
    # Exactly one of script_path (already in the workspace) or script_content.
    script_path: str = ""
    script_filename: str = ""
    script_content: bytes = b""
    environment: dict = field(default_factory=dict)


def parse_int(errors, data, key, default, low, high, unit=""):
    raw = data.get(key)
    if raw is None or raw == "":
        raw = default
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif isinstance(raw, str) and re.fullmatch(r"[0-9]{1,9}", raw):
        value = int(raw)
    else:
        errors[key] = f"{key} must be a whole number from {low} to {high}{unit}; got {shown(raw)}."
        return None
    if not low <= value <= high:
        errors[key] = f"{key} must be from {low} to {high}{unit}; got {value}."
        return None
    return value


def parse_time_limit(text):
    """Return the time limit in whole minutes (seconds round up), or None if malformed."""
    if not isinstance(text, str):
        return None
    for pattern, units in TIME_PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            seconds = sum(int(part) * _SECONDS[unit] for part, unit in zip(match.groups(), units))
            return -(-seconds // 60)
    return None


def interpreter_for(filename, content=None):
    """Return 'python' or 'bash' for a script, from its extension or its #! line."""
    suffix = PurePosixPath(filename).suffix.lower()
    if suffix in INTERPRETERS:
        return INTERPRETERS[suffix]
    if content is not None and content.startswith(b"#!"):
        first_line = content.split(b"\n", 1)[0]
        if b"python" in first_line:
            return "python"
        if b"bash" in first_line or first_line.endswith(b"/sh") or b" sh" in first_line:
            return "bash"
    return None


def _clean_name(errors, data, default):
    name = data.get("name") or default
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        errors["name"] = (
            "name must be 1-64 characters of ASCII letters, digits, '.', '_' or '-', "
            f"starting with a letter or digit; got {shown(name)}."
        )
        return None
    return name


def _clean_partition(errors, data):
    partition = data.get("partition") or settings.DEFAULT_PARTITION
    if partition not in settings.PARTITIONS:
        choices = ", ".join(settings.PARTITIONS)
        errors["partition"] = f"partition must be one of {choices}; got {shown(partition)}."
        return None
    return partition


def _clean_time_limit(errors, data, partition):
    limits = settings.JOB_LIMITS
    raw = data.get("time_limit")
    if raw is None or raw == "":
        raw = data.get("time_limit_minutes")
    if raw is None or raw == "":
        minutes = min(60, settings.PARTITIONS.get(partition, 60))
    elif isinstance(raw, int) and not isinstance(raw, bool):
        minutes = raw
    else:
        minutes = parse_time_limit(raw)
    if minutes is None:
        errors["time_limit"] = (
            "time_limit must be whole minutes or Slurm's format (MM:SS, HH:MM:SS, D-HH, D-HH:MM, "
            f"D-HH:MM:SS); got {shown(raw)}."
        )
        return None
    low, high = limits["min_time_minutes"], limits["max_time_minutes"]
    if not low <= minutes <= high:
        errors["time_limit"] = f"time_limit must be from {low} minute to {high} minutes (7 days); got {minutes}."
        return None
    cap = settings.PARTITIONS.get(partition)
    if cap is not None and minutes > cap:
        errors["time_limit"] = (
            f"time_limit of {minutes} minutes exceeds the {partition} partition's maximum of "
            f"{cap} minutes; shorten it or choose another partition."
        )
        return None
    return minutes


def _encodable(text):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _clean_environment(errors, data):
    raw = data.get("environment") or data.get("env") or {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            errors["environment"] = "environment must be a JSON object of names to string values."
            return {}
    if not isinstance(raw, dict):
        errors["environment"] = "environment must be an object of names to string values."
        return {}
    if len(raw) > MAX_ENV_VARS:
        errors["environment"] = f"environment may hold at most {MAX_ENV_VARS} variables; got {len(raw)}."
        return {}
    for key, value in raw.items():
        if not isinstance(key, str) or not ENV_KEY_PATTERN.fullmatch(key):
            errors["environment"] = (
                f"environment variable name {shown(key)} is invalid; use ASCII letters, digits and '_', "
                "not starting with a digit."
            )
            return {}
        if key.upper() in RESERVED_ENV_KEYS or key.upper().startswith(RESERVED_ENV_PREFIXES):
            errors["environment"] = f"environment variable {key} is reserved by the platform; rename it."
            return {}
        if not isinstance(value, str) or "\x00" in value or len(value) > MAX_ENV_VALUE_CHARS or not _encodable(value):
            errors["environment"] = (
                f"environment variable {key} must be a string of at most "
                f"{MAX_ENV_VALUE_CHARS} characters of valid Unicode without NUL bytes."
            )
            return {}
    return dict(raw)


def _clean_script(errors, user_id, data, files):
    """Return (script_path, filename, content) for exactly one of the three script sources."""
    upload = files.get("script_file") or files.get("file")
    text = data.get("script")
    path = data.get("script_path")
    given = [source for source in (upload, text, path) if source not in (None, "")]
    if len(given) != 1:
        errors["script"] = (
            "send exactly one of script_path (a file in your workspace), "
            "script_file (an upload) or script (the script text)."
        )
        return "", "", b""

    if path not in (None, ""):
        return _clean_script_path(errors, user_id, path), "", b""

    if upload is not None:
        field_name, filename = "script_file", upload.name or ""
        if upload.size > settings.SCRIPT_UPLOAD_MAX_BYTES:
            errors[field_name] = f"script_file is larger than {settings.SCRIPT_UPLOAD_MAX_BYTES} bytes."
            return "", "", b""
        content = upload.read()
    else:
        field_name = "script"
        filename = data.get("filename") or ""
        if not isinstance(text, str):
            errors["script"] = "script must be the script's text."
            return "", "", b""
        content = text.encode("utf-8", errors="surrogateescape")
        if len(content) > settings.SCRIPT_UPLOAD_MAX_BYTES:
            errors["script"] = f"script is larger than {settings.SCRIPT_UPLOAD_MAX_BYTES} bytes."
            return "", "", b""

    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        errors[field_name] = f"{field_name} must be UTF-8 text."
        return "", "", b""
    if b"\x00" in content:
        errors[field_name] = f"{field_name} must be text; it contains NUL bytes."
        return "", "", b""
    if not content.strip():
        errors[field_name] = f"{field_name} is empty."
        return "", "", b""

    filename = PurePosixPath(filename.replace("\\", "/")).name if filename else ""
    if not filename:
        filename = "script.sh" if interpreter_for("x", content) == "bash" else "script.py"
    if not FILENAME_PATTERN.fullmatch(filename):
        errors[field_name] = (
            f"file name {shown(filename)} is invalid; use letters, digits, '.', '_' or '-'."
        )
        return "", "", b""
    if interpreter_for(filename, content) is None:
        errors[field_name] = (
            f"cannot tell how to run {shown(filename)}; name it .py or .sh or start it with a #! line."
        )
        return "", "", b""
    return "", filename, content


def _clean_script_path(errors, user_id, path):
    if not isinstance(path, str):
        errors["script_path"] = f"script_path must be a path relative to your workspace; got {shown(path)}."
        return ""
    if len(path) > 1024:
        errors["script_path"] = "script_path must be at most 1024 characters."
        return ""
    if "\x00" in path or "\n" in path or "\r" in path or not _encodable(path):
        errors["script_path"] = "script_path must not contain NUL bytes, line breaks or invalid Unicode."
        return ""
    if path.startswith("/"):
        errors["script_path"] = "script_path must be relative to your workspace, not absolute."
        return ""
    workspace = user_workspace(user_id)
    resolved = resolve_inside(workspace, path)
    if resolved is None:
        errors["script_path"] = f"script_path {shown(path)} points outside your workspace."
        return ""
    if not resolved.is_file():
        errors["script_path"] = f"script_path {shown(path)} is not a file in your workspace."
        return ""
    relative = resolved.relative_to(workspace.resolve()).as_posix()
    if any(not FILENAME_PATTERN.fullmatch(part) for part in relative.split("/")):
        errors["script_path"] = (
            f"script_path {shown(path)} has characters other than letters, digits, '.', '_' or '-'."
        )
        return ""
    with resolved.open("rb") as handle:
        head = handle.read(256)
    if interpreter_for(relative, head) is None:
        errors["script_path"] = (
            f"cannot tell how to run {shown(path)}; name it .py or .sh or start it with a #! line."
        )
        return ""
    return relative


def validate_job_spec(user_id, data, files=None):
    """Return a JobSpec for a submission, or raise InvalidJobSpec naming every bad field."""
    files = files or {}
    errors = {}
    limits = settings.JOB_LIMITS

    script_path, filename, content = _clean_script(errors, user_id, data, files)
    default_name = PurePosixPath(script_path or filename or "job").stem[:64] or "job"
    if not NAME_PATTERN.fullmatch(default_name):
        default_name = "job"
    name = _clean_name(errors, data, default_name)
    partition = _clean_partition(errors, data)
    cpus = parse_int(errors, data, "cpus", 1, limits["min_cpus"], limits["max_cpus"])
    memory_gb = parse_int(
        errors, data, "memory_gb", 1, limits["min_memory_gb"], limits["max_memory_gb"], " GB"
    )
    minutes = _clean_time_limit(errors, data, partition) if partition else None
    environment = _clean_environment(errors, data)

    if errors:
        raise InvalidJobSpec(errors)
    return JobSpec(
        name=name,
        partition=partition,
        cpus=cpus,
        memory_gb=memory_gb,
        time_limit_minutes=minutes,
        script_path=script_path,
        script_filename=filename,
        script_content=content,
        environment=environment,
    )
