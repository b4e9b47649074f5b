"""Parse the output of Slurm's squeue, sacct, sshare and sprio commands.

Pure functions: nothing here runs a command or imports Django. The caller runs the
argument tuples defined below with ``SLURM_TIME_ENV`` added to the environment and
passes the output in. Output of a shape these functions do not know raises
``SlurmParseError``, which names the field and the value.

Shapes, and the Slurm releases they come from:

* Delimited text: ``squeue -o`` (``SQUEUE_ARGS``), ``sacct -P`` (``SACCT_ARGS``),
  ``sshare -P`` and ``sprio -o``. Checked on 22.05.8, where ``sacct`` prints ``ReqMem``
  without a suffix (``100M``). NOTE: older releases add an ``n`` or ``c`` suffix
  (``16Gn``, ``2Gc``). Which release dropped it was not checked, and both forms parse.
  The format codes and column names were checked against 22.05 only.
* ``squeue --json`` and ``sacct --json`` with plugin ``openapi/v0.0.38`` and
  ``openapi/dbv0.0.38`` (22.05, checked on 22.05.8). ``job_state`` is a string and
  numbers are plain (0 or NO_VAL when unset). The squeue ``exit_code`` is the raw wait
  status. The sacct ``exit_code`` is ``{"status": "SUCCESS", "return_code": 0}`` even
  for a job that exited 3, so for that shape the state wins (see ``parse_sacct_json``).
* ``data_parser/v0.0.40`` and later (23.11 to 25.11): ``job_state`` and
  ``state.current`` are lists such as ``["PENDING", "REQUEUED"]``, numbers are
  ``{"set": true, "infinite": false, "number": 5}`` and ``exit_code`` is
  ``{"status": [...], "return_code": {...}, "signal": {"id": {...}, "name": ...}}``.
  NOTE: not run here. The number and exit_code shapes come from the v0.0.42 OpenAPI
  schema, and the state lists from client projects that parse 23.11 output. 23.02
  (``v0.0.39``) may use either shape for some fields, and both are accepted.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo

# ---------------------------------------------------------------------------------------
# Commands

# Run every command with this in its environment: times then print as epoch seconds,
# which do not depend on the time zone of the machine that runs the command.
SLURM_TIME_ENV = {"SLURM_TIME_FORMAT": "%s"}

# squeue format codes in output order. The job name is free text that may contain the
# delimiter, so it comes last. The parser also recovers it from any other position.
SQUEUE_FIELDS = (
    ("job_id_raw", "%A"),
    ("job_id", "%i"),
    ("state", "%T"),
    ("reason", "%r"),
    ("account", "%a"),
    ("partition", "%P"),
    ("user", "%u"),
    ("submit_time", "%V"),
    ("start_time", "%S"),
    ("end_time", "%e"),
    ("elapsed", "%M"),
    ("time_limit", "%l"),
    ("cpus", "%C"),
    ("priority", "%Q"),
    ("name", "%j"),
)
SQUEUE_FORMAT = "|".join(code for _, code in SQUEUE_FIELDS)
# --states=all includes jobs that ended less than MinJobAge seconds ago.
SQUEUE_ARGS = ("squeue", "--noheader", "--states=all", "--noconvert", f"--format={SQUEUE_FORMAT}")

# sacct columns. The header line that sacct prints names the columns, so output with
# other columns or another order parses too.
SACCT_FIELDS = (
    "JobIDRaw",
    "JobID",
    "Account",
    "Partition",
    "User",
    "State",
    "Reason",
    "ExitCode",
    "Submit",
    "Start",
    "End",
    "Elapsed",
    "TimelimitRaw",
    "AllocCPUS",
    "ReqMem",
    "JobName",
)
SACCT_FORMAT = ",".join(SACCT_FIELDS)
# The caller adds the selection, e.g. --jobs=12,13 or --allusers --starttime=now-1hour.
SACCT_ARGS = ("sacct", "--allocations", "--parsable2", "--noconvert", f"--format={SACCT_FORMAT}")

SSHARE_FIELDS = (
    "Account",
    "User",
    "RawShares",
    "NormShares",
    "RawUsage",
    "EffectvUsage",
    "FairShare",
)
SSHARE_ARGS = ("sshare", "--all", "--parsable2", f"--format={','.join(SSHARE_FIELDS)}")

# Job ID, user, priority, then the weighted fair-share, partition and QOS factors.
SPRIO_FORMAT = "%i|%u|%Y|%F|%P|%Q"
SPRIO_ARGS = ("sprio", "--noheader", f"--format={SPRIO_FORMAT}")

# ---------------------------------------------------------------------------------------
# Job states

# The states of a job that has not started yet.
PENDING_STATES = frozenset(
    {"PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD", "SPECIAL_EXIT"}
)
# The states of a job that has started and not ended.
ACTIVE_STATES = frozenset(
    {
        "RUNNING",
        "CONFIGURING",
        "COMPLETING",
        "SUSPENDED",
        "STOPPED",
        "SIGNALING",
        "STAGE_OUT",
        "RESIZING",
    }
)
# The states of a job that has ended. Slurm does not change them again, except that
# a requeue starts a new run of the same job ID.
TERMINAL_STATES = frozenset(
    {
        "COMPLETED",
        "CANCELLED",
        "FAILED",
        "TIMEOUT",
        "NODE_FAIL",
        "PREEMPTED",
        "BOOT_FAIL",
        "DEADLINE",
        "OUT_OF_MEMORY",
        "REVOKED",
    }
)
_BASE_STATES = frozenset(
    {
        "PENDING",
        "RUNNING",
        "SUSPENDED",
        "COMPLETED",
        "CANCELLED",
        "FAILED",
        "TIMEOUT",
        "NODE_FAIL",
        "PREEMPTED",
        "BOOT_FAIL",
        "DEADLINE",
        "OUT_OF_MEMORY",
    }
)
# The order in which Slurm's job_state_string() lets a flag replace the base state in
# text output (src/common/slurm_protocol_defs.c). A JSON state list is reduced with the
# same order, so every shape names a job's state as squeue's text output would.
_FLAG_PRECEDENCE = (
    "COMPLETING",
    "STAGE_OUT",
    "CONFIGURING",
    "RESIZING",
    "REQUEUED",
    "REQUEUE_FED",
    "REQUEUE_HOLD",
    "SPECIAL_EXIT",
    "STOPPED",
    "REVOKED",
    "RESV_DEL_HOLD",
    "SIGNALING",
)

_STATE_PATTERN = re.compile(r"^(?P<name>[A-Z][A-Z_]*)(?: by (?P<uid>\d+))?$")


def is_terminal_state(state: str) -> bool:
    """Return whether ``state`` means the job has ended."""
    return state in TERMINAL_STATES


# ---------------------------------------------------------------------------------------
# Results


class SlurmParseError(ValueError):
    """Slurm output of a shape this module does not know."""

    def __init__(self, field: str, value: object, detail: str = ""):
        self.field = field
        self.value = value
        value_text = repr(value)
        if len(value_text) > 200:
            value_text = value_text[:200] + "..."
        message = f"invalid {field} in Slurm output: {value_text}"
        if detail:
            message += f" ({detail})"
        super().__init__(message)


@dataclass(frozen=True)
class JobState:
    """A job state as Slurm names it, with the details some outputs add."""

    name: str
    # The other entries of a JSON state list, e.g. ("REQUEUED",); empty for text output.
    flags: tuple[str, ...] = ()
    # The user ID from sacct's "CANCELLED by 1002".
    cancelled_by_uid: int | None = None


@dataclass(frozen=True)
class SlurmJobId:
    """The parts of a job ID as squeue and sacct print it, e.g. 129_3, 12+1, 12.batch."""

    job_id: str
    # One task ("3") or, for pending tasks shown together, a range ("2-5" or "2-5%2").
    array_task_id: str | None = None
    het_job_offset: int | None = None
    # "batch", "extern", "interactive" or a step number.
    step_id: str | None = None


@dataclass(frozen=True)
class MemoryAmount:
    """A memory size in megabytes (MiB, Slurm's "M"), per node, per CPU or unspecified."""

    megabytes: int
    # "node" or "cpu" from a suffix like 16Gn or 2Gc, or None when the output has no suffix.
    per: str | None = None


# Not frozen: a frozen dataclass of this size takes about 8 µs to build against
# under 1 µs, which is most of the poller's parse time for a 10,000-job queue.
# Callers treat it as read-only.
@dataclass(slots=True)
class SchedulerJobStatus:
    """One job (or, from sacct, one job step) as a Slurm command reports it."""

    # The unique numeric job ID (squeue %A, sacct JobIDRaw, JSON job_id). An array task
    # has its own (129_3 may be 131). Output without a numeric ID gives the display form.
    scheduler_job_id: str
    # The name squeue's text output prints, e.g. RUNNING, COMPLETING, CANCELLED.
    state: str
    # The reason the job is pending or ended, e.g. Priority or AssocMaxJobsLimit, or "".
    reason: str
    # Exit code and signal of a job that has ended. Both are None while it runs or waits,
    # and when the output does not contain them.
    exit_code: int | None
    signal: int | None
    # UTC. start_time is None until the job starts and end_time until it ends, also
    # where squeue prints an expected time.
    submit_time: datetime | None
    start_time: datetime | None
    end_time: datetime | None
    # The ID as squeue and sacct print it: 12, 129_3, 129_[4-5], 12+1, 12.batch.
    display_job_id: str = ""
    name: str = ""
    account: str = ""
    partition: str = ""
    user: str = ""
    array_job_id: str | None = None
    array_task_id: str | None = None
    het_job_id: str | None = None
    het_job_offset: int | None = None
    step_id: str | None = None
    # None when the job has no limit of its own (UNLIMITED, Partition_Limit, NOT_SET).
    time_limit_minutes: int | None = None
    elapsed_seconds: int | None = None
    cpus: int | None = None
    # sacct ReqMem or the squeue --json memory request, or None when the output has none.
    requested_memory: MemoryAmount | None = None
    priority: int | None = None
    restart_count: int | None = None
    cancelled_by_uid: int | None = None
    state_flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class FairShareRow:
    """One association line of ``sshare -a -P``."""

    account: str
    # None on the line of the account itself.
    user: str | None
    # Depth in the account tree, from the leading spaces: 0 for root.
    depth: int
    raw_shares: int | None
    norm_shares: float | None
    raw_usage: int | None
    effective_usage: float | None
    # The fair-share factor, 0.0 to 1.0. sshare leaves it empty on account lines.
    fair_share: float | None


@dataclass(frozen=True)
class JobPriority:
    """One line of ``sprio`` in ``SPRIO_FORMAT``: the priority and its weighted factors."""

    scheduler_job_id: str
    user: str
    priority: float
    fair_share: float
    partition: float
    qos: float


# ---------------------------------------------------------------------------------------
# Values

# Words Slurm prints for a value that is not set. Compared case-insensitively.
_UNSET_WORDS = frozenset({"", "N/A", "NONE", "UNKNOWN", "(NULL)", "NOT_SET", "INVALID"})
# Words Slurm prints for a time limit that is not a number of minutes.
_NO_LIMIT_WORDS = frozenset({"UNLIMITED", "INFINITE", "PARTITION_LIMIT"})
# Slurm's NO_VAL and INFINITE markers for 32- and 64-bit numbers in the v0.0.38 JSON.
_NUMBER_MARKERS = frozenset({0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFE, 0xFFFFFFFFFFFFFFFF})

_DURATION_PATTERN = re.compile(
    r"^(?:(?P<days>\d+)-)?(?:(?P<hours>\d+):)?(?P<minutes>\d+):(?P<seconds>\d+)(?:\.(?P<fraction>\d+))?$"
)
_MEMORY_PATTERN = re.compile(r"^(?P<number>\d+(?:\.\d+)?)(?P<unit>[KMGTP]?)(?P<per>[nc]?)$")
_MEMORY_UNIT_MB = {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024**2, "P": 1024**3}
_EXIT_CODE_PATTERN = re.compile(r"^(?P<exit>\d+):(?P<signal>\d+)$")
_ISO_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")
_JOB_ID_PATTERN = re.compile(
    r"^(?P<job>\d+)"
    r"(?:_(?P<task>\d+|\[[0-9,%\-]+\]))?"
    r"(?:\+(?P<het>\d+))?"
    r"(?:\.(?P<step>[A-Za-z]+|\d+)(?:\+\d+)?)?$"
)


def _is_unset_word(text: str) -> bool:
    return text.strip().upper() in _UNSET_WORDS


def parse_job_state(value: str | Sequence[str], field: str = "state") -> JobState:
    """Parse a job state: "RUNNING", "CANCELLED by 1002" or a JSON list of names.

    A list such as ["PENDING", "REQUEUED"] becomes the name squeue's text output shows for
    the same job (Slurm's job_state_string order), with the other names in ``flags``.
    """
    if isinstance(value, str):
        return _parse_state_text(value, field)

    if isinstance(value, Sequence) and value and all(isinstance(item, str) for item in value):
        names = [parse_job_state(item, field).name for item in value]
        chosen = next((flag for flag in _FLAG_PRECEDENCE if flag in names), None)
        if chosen is None:
            chosen = next((name for name in names if name in _BASE_STATES), names[0])
        flags = tuple(name for name in names if name != chosen)
        return JobState(chosen, flags)

    raise SlurmParseError(field, value, "expected a state name or a non-empty list of them")


@functools.lru_cache(maxsize=1024)
def _parse_state_text(value: str, field: str) -> JobState:
    match = _STATE_PATTERN.match(value.strip())
    if not match:
        raise SlurmParseError(field, value)
    uid = match.group("uid")
    return JobState(match.group("name"), cancelled_by_uid=int(uid) if uid is not None else None)


def parse_exit_code(text: str, field: str = "exit_code") -> tuple[int | None, int | None]:
    """Parse sacct's "exit:signal" form: "3:0" is (3, 0), "0:15" is (0, 15), "" is (None, None)."""
    if _is_unset_word(text):
        return None, None
    match = _EXIT_CODE_PATTERN.match(text.strip())
    if not match:
        raise SlurmParseError(field, text, "expected exit:signal such as 3:0")
    return int(match.group("exit")), int(match.group("signal"))


def decode_wait_status(status: int) -> tuple[int, int]:
    """Split a raw wait status (squeue --json exit_code) into (exit code, signal).

    Matches sacct's text: 768 is (3, 0), a job killed by SIGTERM (15) is (0, 15), and a
    launch failure (4021) is (0, 53).
    """
    signal = status & 0x7F
    if signal:
        return 0, signal
    return (status >> 8) & 0xFF, 0


def parse_duration_seconds(value: str | int, field: str = "duration") -> int | None:
    """Parse a duration into seconds: "1-02:03:04", "02:03:04", "3:04", or whole seconds.

    Returns None for UNLIMITED, INFINITE, Partition_Limit, NOT_SET, INVALID, N/A and "".
    A fraction of a second ("00:01.250") is dropped.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str):
        raise SlurmParseError(field, value)
    return _parse_duration_text(value, field)


# The same few time limits and elapsed times recur across a large queue, so
# their parses are cached; a parse error is raised again on each call.
@functools.lru_cache(maxsize=8192)
def _parse_duration_text(value: str, field: str) -> int | None:
    text = value.strip()
    if _is_unset_word(text) or text.upper() in _NO_LIMIT_WORDS:
        return None
    if text.isdigit():
        return int(text)
    match = _DURATION_PATTERN.match(text)
    if not match or (match.group("days") and not match.group("hours")):
        raise SlurmParseError(
            field, value, "expected [days-]hours:minutes:seconds or minutes:seconds"
        )
    days = int(match.group("days") or 0)
    hours = int(match.group("hours") or 0)
    return ((days * 24 + hours) * 60 + int(match.group("minutes"))) * 60 + int(
        match.group("seconds")
    )


def parse_time_limit_minutes(
    value: str | int | Mapping | None, field: str = "time_limit"
) -> int | None:
    """Parse a time limit into minutes.

    Whole numbers are minutes (sacct TimelimitRaw, JSON time_limit); squeue's "1:00:00"
    and "10:00" are durations, rounded up to whole minutes. Returns None when the job has
    no limit of its own: UNLIMITED, INFINITE, Partition_Limit, NOT_SET, INVALID, N/A, "",
    or an unset or infinite JSON number.
    """
    if value is None or isinstance(value, Mapping):
        number = _json_number(value, field)
        return int(number) if number is not None else None
    if isinstance(value, int) and not isinstance(value, bool):
        return None if value in _NUMBER_MARKERS else value
    if isinstance(value, str):
        return _parse_time_limit_text(value, field)
    seconds = parse_duration_seconds(value, field)
    return math.ceil(seconds / 60) if seconds is not None else None


@functools.lru_cache(maxsize=1024)
def _parse_time_limit_text(value: str, field: str) -> int | None:
    if value.strip().isdigit():
        return int(value)
    seconds = _parse_duration_text(value, field)
    return math.ceil(seconds / 60) if seconds is not None else None


def parse_memory(text: str, field: str = "memory") -> MemoryAmount | None:
    """Parse a memory size: "4000M", "4G", "512K", "16Gn" (per node), "2Gc" (per CPU).

    A number without a unit is megabytes, as in Slurm. Kilobytes round up to whole
    megabytes. Returns None for "" and N/A.
    """
    if _is_unset_word(text):
        return None
    match = _MEMORY_PATTERN.match(text.strip())
    if not match:
        raise SlurmParseError(field, text, "expected a size such as 4000M, 4G or 2Gc")
    megabytes = math.ceil(
        float(match.group("number")) * _MEMORY_UNIT_MB[match.group("unit") or "M"]
    )
    per = {"n": "node", "c": "cpu"}.get(match.group("per"))
    return MemoryAmount(megabytes, per)


def parse_timestamp(
    value: str | int | Mapping | None,
    field: str = "timestamp",
    local_timezone: tzinfo = timezone.utc,
) -> datetime | None:
    """Parse a time into an aware UTC datetime.

    Accepts epoch seconds (the form ``SLURM_TIME_ENV`` requests, and JSON numbers), and
    ISO times such as "2026-12-04T21:49:14", which Slurm prints in the local time of the
    machine that ran the command, given here as ``local_timezone``. Returns None for
    Unknown, None, N/A, "", 0 and an unset JSON number.
    """
    if type(value) is str and value.isdigit():
        # The common case with SLURM_TIME_ENV: epoch seconds.
        seconds = int(value)
        return datetime.fromtimestamp(seconds, timezone.utc) if seconds else None
    if value is None or isinstance(value, Mapping):
        value = _json_number(value, field)
        if value is None:
            return None
    if isinstance(value, bool):
        raise SlurmParseError(field, value)
    if isinstance(value, (int, float)):
        if value == 0 or value in _NUMBER_MARKERS:
            return None
        return datetime.fromtimestamp(value, timezone.utc)
    if not isinstance(value, str):
        raise SlurmParseError(field, value)

    text = value.strip()
    if _is_unset_word(text) or text == "0":
        return None
    if text.isdigit():
        return datetime.fromtimestamp(int(text), timezone.utc)
    if _ISO_PATTERN.match(text):
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise SlurmParseError(field, value, "invalid ISO time") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=local_timezone)
        return parsed.astimezone(timezone.utc)
    raise SlurmParseError(field, value, "expected epoch seconds or an ISO time")


def parse_job_id(text: str, field: str = "job_id") -> SlurmJobId:
    """Split a job ID as squeue and sacct print it.

    "12" is a job, "129_3" an array task, "129_[4-5%2]" pending array tasks, "12+1" the
    second component of a heterogeneous job, and "12.batch", "12.extern", "12.0" or
    "12+1.0" job steps.
    """
    if text.isdigit():
        return SlurmJobId(job_id=text)
    match = _JOB_ID_PATTERN.match(text.strip())
    if not match:
        raise SlurmParseError(field, text, "expected a job ID such as 12, 129_3, 12+1 or 12.batch")
    task = match.group("task")
    if task is not None and task.startswith("["):
        task = task[1:-1]
    het = match.group("het")
    return SlurmJobId(
        job_id=match.group("job"),
        array_task_id=task,
        het_job_offset=int(het) if het is not None else None,
        step_id=match.group("step"),
    )


def _parse_int(text: str, field: str) -> int | None:
    if text.isdigit():
        return int(text)
    if _is_unset_word(text):
        return None
    try:
        return int(text.strip())
    except ValueError:
        raise SlurmParseError(field, text, "expected a whole number") from None


def _parse_float(text: str, field: str) -> float | None:
    if _is_unset_word(text):
        return None
    try:
        return float(text.strip())
    except ValueError:
        raise SlurmParseError(field, text, "expected a number") from None


def _json_number(value: object, field: str) -> int | float | None:
    """Read a JSON number: plain (v0.0.38) or {"set", "infinite", "number"} (v0.0.39+).

    Returns None for null, an unset or infinite number, and Slurm's NO_VAL markers.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise SlurmParseError(field, value, "expected a number")
    if isinstance(value, (int, float)):
        return None if value in _NUMBER_MARKERS else value
    if isinstance(value, Mapping) and "number" in value:
        if not value.get("set", True) or value.get("infinite", False):
            return None
        return _json_number(value["number"], field)
    raise SlurmParseError(field, value, "expected a number or {set, infinite, number}")


def _json_string(value: object, field: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    raise SlurmParseError(field, value, "expected a string")


def _optional_str(value: int | float | None) -> str | None:
    return str(int(value)) if value is not None else None


# ---------------------------------------------------------------------------------------
# Delimited text


def _split_record(
    line: str, column_count: int, free_text_index: int | None, delimiter: str
) -> list[str] | None:
    """Split one line into ``column_count`` values, or return None if it has too few.

    The free-text column (a job name) may contain the delimiter: the extra parts are
    joined back into it, wherever it is.
    """
    parts = line.split(delimiter)
    if len(parts) < column_count:
        return None
    if len(parts) == column_count or free_text_index is None:
        return parts if len(parts) == column_count else None
    extra = len(parts) - column_count
    end = free_text_index + extra + 1
    return parts[:free_text_index] + [delimiter.join(parts[free_text_index:end])] + parts[end:]


def _split_lines(
    text: str,
    column_count: int,
    free_text_index: int | None,
    field: str,
    delimiter: str = "|",
) -> list[list[str]]:
    """Split delimited output into one list of ``column_count`` values per record.

    When the free-text column is last, a line with too few values continues the previous
    record's free text: a job name with a newline in it spans two lines.
    """
    records: list[list[str]] = []
    for line in text.splitlines():
        values = line.split(delimiter)
        if len(values) == column_count:
            records.append(values)
            continue
        if not line.strip():
            continue
        values = _split_record(line, column_count, free_text_index, delimiter)
        if values is None:
            continues_name = free_text_index == column_count - 1 and records
            if not continues_name:
                raise SlurmParseError(
                    field, line, f"expected {column_count} values separated by {delimiter!r}"
                )
            records[-1][free_text_index] += "\n" + line
            continue
        records.append(values)
    return records


def _parse_delimited(
    text: str,
    columns: Sequence[str],
    free_text_column: str | None,
    field: str,
    delimiter: str = "|",
) -> list[dict[str, str]]:
    """Split delimited output into one dict per record, keyed by column (see _split_lines)."""
    free_text_index = columns.index(free_text_column) if free_text_column in columns else None
    return [
        dict(zip(columns, values, strict=True))
        for values in _split_lines(text, len(columns), free_text_index, field, delimiter)
    ]


def _header_columns(
    text: str, known: Sequence[str], delimiter: str = "|"
) -> tuple[list[str] | None, str]:
    """Return (columns, rest) if the first line is a header of known column names."""
    first_line, _, rest = text.lstrip("\n").partition("\n")
    names = first_line.strip().split(delimiter)
    known_lower = {name.lower(): name for name in known}
    if names and all(name.lower() in known_lower for name in names):
        return [known_lower[name.lower()] for name in names], rest
    return None, text


def _job_status(
    *,
    scheduler_job_id: str,
    display_job_id: str,
    state: JobState,
    reason: str,
    exit_status: tuple[int | None, int | None],
    submit_time: datetime | None,
    start_time: datetime | None,
    end_time: datetime | None,
    from_squeue: bool,
    **details,
) -> SchedulerJobStatus:
    """Build a status with the same meaning whatever the output shape.

    squeue prints an expected start for a pending job and an expected end for a running
    one, and sacct prints exit code 0:0 before a job ends. None of these are facts yet, so
    they become None. sacct prints no expected times, and its REQUEUED lines (earlier runs
    of a requeued job) keep their real start and end.
    """
    if from_squeue and state.name in PENDING_STATES:
        start_time = None
    if from_squeue and state.name not in TERMINAL_STATES and state.name != "COMPLETING":
        end_time = None
    exit_code, signal = exit_status
    if state.name not in TERMINAL_STATES:
        exit_code, signal = None, None

    parsed_id = parse_job_id(display_job_id)
    if parsed_id.array_task_id is not None:
        details.setdefault("array_job_id", parsed_id.job_id)
        details.setdefault("array_task_id", parsed_id.array_task_id)
    if parsed_id.het_job_offset is not None:
        details.setdefault("het_job_id", parsed_id.job_id)
        details.setdefault("het_job_offset", parsed_id.het_job_offset)
    details.setdefault("step_id", parsed_id.step_id)

    return SchedulerJobStatus(
        scheduler_job_id=scheduler_job_id,
        state=state.name,
        reason=reason,
        exit_code=exit_code,
        signal=signal,
        submit_time=submit_time,
        start_time=start_time,
        end_time=end_time,
        display_job_id=display_job_id,
        cancelled_by_uid=state.cancelled_by_uid,
        state_flags=state.flags,
        **details,
    )


def parse_squeue(text: str, local_timezone: tzinfo = timezone.utc) -> list[SchedulerJobStatus]:
    """Parse the output of ``SQUEUE_ARGS`` (``squeue -o SQUEUE_FORMAT``).

    ``local_timezone`` applies to ISO times, printed when SLURM_TIME_FORMAT was not set.
    NOTE: squeue shows a job cancelled while pending with start = end = the cancel time;
    only sacct shows that it never started (Start "None").
    """
    columns = [name for name, _ in SQUEUE_FIELDS]
    first_line = text.lstrip("\n").partition("\n")[0]
    if first_line.startswith("JOBID|"):
        text = text.lstrip("\n").partition("\n")[2]

    def stamp(value, field):
        return parse_timestamp(value, field, local_timezone)

    # The unpacking below follows the order of SQUEUE_FIELDS.
    with _garbage_collection_paused():
        return [
            _squeue_status(values, stamp)
            for values in _split_lines(text, len(columns), columns.index("name"), "squeue line")
        ]


@contextlib.contextmanager
def _garbage_collection_paused():
    """Pause the cyclic garbage collector while a large output is parsed.

    The statuses hold no reference cycles, but building 10,000 of them starts
    several collections that scan every object; pausing saved about 20 ms of
    140 ms for a 10,000-job squeue output (bench/slurm_poll_bench.py).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _epoch(text):
    seconds = int(text)
    return datetime.fromtimestamp(seconds, timezone.utc) if seconds else None


def _squeue_status(values, stamp):
    """Build the status of one squeue record (values in SQUEUE_FIELDS order)."""
    (raw_id, display_id, state_text, reason, account, partition, user, submit, start, end,
     elapsed, time_limit, cpus, priority, name) = values
    raw_id = raw_id.strip()
    if not raw_id.isdigit():
        raise SlurmParseError("squeue %A (job ID)", raw_id)
    state = _parse_state_text(state_text, "squeue %T (state)")
    display_id = display_id.strip()
    # squeue prints an expected start for a pending job and an expected end
    # for a running one; neither is a fact yet, so neither is read. Epoch
    # seconds (the form SLURM_TIME_ENV asks for) are read inline: the poller
    # parses the whole queue every tick.
    start_time = end_time = None
    if state.name not in PENDING_STATES:
        start_time = _epoch(start) if start.isdigit() else stamp(start, "squeue %S (start time)")
    if state.name in TERMINAL_STATES or state.name == "COMPLETING":
        end_time = _epoch(end) if end.isdigit() else stamp(end, "squeue %e (end time)")
    details = {}
    if not display_id.isdigit():
        parsed_id = parse_job_id(display_id)
        if parsed_id.array_task_id is not None:
            details = {"array_job_id": parsed_id.job_id, "array_task_id": parsed_id.array_task_id}
        if parsed_id.het_job_offset is not None:
            details.update(het_job_id=parsed_id.job_id, het_job_offset=parsed_id.het_job_offset)
        details["step_id"] = parsed_id.step_id
    return SchedulerJobStatus(
        scheduler_job_id=raw_id,
        state=state.name,
        reason=reason.strip(),
        exit_code=None,
        signal=None,
        submit_time=_epoch(submit) if submit.isdigit() else stamp(submit, "squeue %V (submit time)"),
        start_time=start_time,
        end_time=end_time,
        display_job_id=display_id,
        name=name,
        account=account.strip(),
        partition=partition.strip(),
        user=user.strip(),
        time_limit_minutes=_parse_time_limit_text(time_limit, "squeue %l (time limit)"),
        elapsed_seconds=_parse_duration_text(elapsed, "squeue %M (time used)"),
        cpus=int(cpus) if cpus.isdigit() else _parse_int(cpus, "squeue %C (CPUs)"),
        priority=int(priority) if priority.isdigit() else _parse_int(priority, "squeue %Q (priority)"),
        cancelled_by_uid=state.cancelled_by_uid,
        state_flags=state.flags,
        **details,
    )


# Column names that mark the first line of sacct output as its header: every column
# this parser reads and others a caller may add.
_SACCT_KNOWN_COLUMNS = SACCT_FIELDS + (
    "DerivedExitCode",
    "Cluster",
    "QOS",
    "NodeList",
    "NNodes",
    "Timelimit",
    "ElapsedRaw",
    "Eligible",
    "Restarts",
    "WorkDir",
    "Comment",
)


def parse_sacct(
    text: str,
    include_steps: bool = False,
    local_timezone: tzinfo = timezone.utc,
) -> list[SchedulerJobStatus]:
    """Parse ``sacct --parsable2`` output, e.g. of ``SACCT_ARGS``.

    The header line names the columns. Without one (``--noheader``) they must be
    ``SACCT_FIELDS``. JobIDRaw, JobID and State are required. Step lines (12.batch,
    12.extern, 12.0) are skipped unless ``include_steps``; their ``step_id`` is set.
    With ``--duplicates`` a requeued job has one line per run, the older ones REQUEUED.
    """
    columns, body = _header_columns(text, _SACCT_KNOWN_COLUMNS)
    if columns is None:
        columns = list(SACCT_FIELDS)
    for required in ("JobID", "State"):
        if required not in columns:
            raise SlurmParseError("sacct columns", columns, f"{required} is required")

    statuses = []
    for record in _parse_delimited(
        body, columns, "JobName" if "JobName" in columns else None, "sacct line"
    ):
        display_id = record["JobID"].strip()
        raw_id = record.get("JobIDRaw", display_id).strip()
        parsed_raw = parse_job_id(raw_id, "sacct JobIDRaw")
        if parsed_raw.step_id is not None and not include_steps:
            continue

        state = parse_job_state(record["State"], "sacct State")
        exit_status = parse_exit_code(record.get("ExitCode", ""), "sacct ExitCode")
        statuses.append(
            _job_status(
                from_squeue=False,
                scheduler_job_id=parsed_raw.job_id if "JobIDRaw" in record else display_id,
                display_job_id=display_id,
                state=state,
                reason=record.get("Reason", "").strip(),
                exit_status=exit_status,
                submit_time=parse_timestamp(
                    record.get("Submit", ""), "sacct Submit", local_timezone
                ),
                start_time=parse_timestamp(record.get("Start", ""), "sacct Start", local_timezone),
                end_time=parse_timestamp(record.get("End", ""), "sacct End", local_timezone),
                name=record.get("JobName", ""),
                account=record.get("Account", "").strip(),
                partition=record.get("Partition", "").strip(),
                user=record.get("User", "").strip(),
                step_id=parsed_raw.step_id,
                time_limit_minutes=parse_time_limit_minutes(
                    record.get("TimelimitRaw", ""), "sacct TimelimitRaw"
                ),
                elapsed_seconds=parse_duration_seconds(record.get("Elapsed", ""), "sacct Elapsed"),
                cpus=_parse_int(record.get("AllocCPUS", ""), "sacct AllocCPUS"),
                requested_memory=parse_memory(record.get("ReqMem", ""), "sacct ReqMem"),
                restart_count=_parse_int(record.get("Restarts", ""), "sacct Restarts"),
            )
        )
    return statuses


def parse_sshare(text: str) -> list[FairShareRow]:
    """Parse ``sshare --all --parsable2`` output, e.g. of ``SSHARE_ARGS``.

    The header line names the columns. Without one they must be ``SSHARE_FIELDS``.
    Account and User are required.
    """
    columns, body = _header_columns(
        text, SSHARE_FIELDS + ("LevelFS", "GrpTRESMins", "TRESRunMins", "Partition", "Cluster")
    )
    if columns is None:
        columns = list(SSHARE_FIELDS)
    for required in ("Account", "User"):
        if required not in columns:
            raise SlurmParseError("sshare columns", columns, f"{required} is required")

    rows = []
    for record in _parse_delimited(body, columns, None, "sshare line"):
        account_text = record["Account"]
        account = account_text.lstrip(" ")
        if not account:
            raise SlurmParseError("sshare Account", account_text)
        user = record["User"].strip() or None
        raw_shares_text = record.get("RawShares", "")
        rows.append(
            FairShareRow(
                account=account,
                user=user,
                depth=len(account_text) - len(account),
                # "parent" means the association uses its parent's shares.
                raw_shares=None
                if raw_shares_text == "parent"
                else _parse_int(raw_shares_text, "sshare RawShares"),
                norm_shares=_parse_float(record.get("NormShares", ""), "sshare NormShares"),
                raw_usage=_parse_int(record.get("RawUsage", ""), "sshare RawUsage"),
                effective_usage=_parse_float(record.get("EffectvUsage", ""), "sshare EffectvUsage"),
                fair_share=_parse_float(record.get("FairShare", ""), "sshare FairShare"),
            )
        )
    return rows


def parse_sprio(text: str) -> list[JobPriority]:
    """Parse the output of ``SPRIO_ARGS`` (``sprio -h -o '%i|%u|%Y|%F|%P|%Q'``)."""
    columns = ["job_id", "user", "priority", "fair_share", "partition", "qos"]
    first_line = text.lstrip("\n").partition("\n")[0]
    if first_line.startswith("JOBID|"):
        text = text.lstrip("\n").partition("\n")[2]

    priorities = []
    for record in _parse_delimited(text, columns, None, "sprio line"):
        job_id = record["job_id"].strip()
        parse_job_id(job_id, "sprio %i (job ID)")
        values = {}
        for column, code in (
            ("priority", "%Y"),
            ("fair_share", "%F"),
            ("partition", "%P"),
            ("qos", "%Q"),
        ):
            number = _parse_float(record[column], f"sprio {code} ({column})")
            if number is None:
                raise SlurmParseError(f"sprio {code} ({column})", record[column])
            values[column] = number
        priorities.append(
            JobPriority(scheduler_job_id=job_id, user=record["user"].strip(), **values)
        )
    return priorities


# ---------------------------------------------------------------------------------------
# JSON


def _load_json(data: str | bytes | Mapping, command: str) -> Mapping:
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except ValueError as error:
            raise SlurmParseError(f"{command} --json output", data[:200], str(error)) from None
    if not isinstance(data, Mapping):
        raise SlurmParseError(f"{command} --json output", data, "expected a JSON object")
    errors = data.get("errors") or []
    if errors:
        raise SlurmParseError(f"{command} --json errors", errors)
    jobs = data.get("jobs")
    if not isinstance(jobs, list):
        raise SlurmParseError(f"{command} --json jobs", jobs, "expected a list")
    return data


def _json_exit_status(value: object, field: str) -> tuple[int | None, int | None]:
    """Read an exit code: a raw wait status (squeue v0.0.38), or a dict with a status.

    The dict is {"status": "SIGNALED", "return_code": null, "signal": {"signal_id": 15}}
    in v0.0.38 and {"status": ["SIGNALED"], "return_code": {...}, "signal": {"id":
    {...}, "name": "TERM"}} from v0.0.40 on. A signalled job gets exit code 0, as in
    sacct's "0:15".
    """
    if value is None:
        return None, None
    if isinstance(value, int) and not isinstance(value, bool):
        return decode_wait_status(value)
    if not isinstance(value, Mapping) or "status" not in value:
        raise SlurmParseError(
            field, value, "expected a wait status or {status, return_code, signal}"
        )

    status = value["status"]
    if isinstance(status, str):
        statuses = {status}
    elif isinstance(status, list) and all(isinstance(item, str) for item in status):
        statuses = set(status)
    else:
        raise SlurmParseError(f"{field}.status", status)
    if statuses & {"PENDING", "INVALID"}:
        return None, None

    signal_info = value.get("signal")
    signal = None
    if isinstance(signal_info, Mapping):
        signal = _json_number(
            signal_info.get("signal_id", signal_info.get("id")), f"{field}.signal"
        )
    elif signal_info is not None:
        raise SlurmParseError(f"{field}.signal", signal_info)
    if statuses & {"SIGNALED", "CORE_DUMPED"} and signal is not None:
        return 0, int(signal)

    return_code = _json_number(value.get("return_code"), f"{field}.return_code")
    if return_code is None:
        return None, None
    return int(return_code), int(signal or 0)


def _json_job_id(job: Mapping, field: str) -> str:
    number = _json_number(job.get("job_id"), field)
    if number is None:
        raise SlurmParseError(field, job.get("job_id"), "expected a job ID")
    return str(int(number))


def _json_display_job_id(
    job_id: str,
    array_job_id: str | None,
    array_task: str | None,
    het_job_id: str | None,
    het_offset: int | None,
) -> str:
    if array_job_id is not None and array_task is not None:
        task = array_task if array_task.isdigit() else f"[{array_task}]"
        return f"{array_job_id}_{task}"
    if het_job_id is not None and het_offset is not None:
        return f"{het_job_id}+{het_offset}"
    return job_id


def _json_array_and_het(
    job_id: str,
    array_job: object,
    array_task: object,
    array_task_string: object,
    het_job: object,
    het_offset: object,
    prefix: str,
) -> dict:
    array_job_id = _json_number(array_job, f"{prefix}array_job_id")
    task_id = _json_number(array_task, f"{prefix}array_task_id")
    task_string = _json_string(array_task_string, f"{prefix}array_task_string")
    het_job_id = _json_number(het_job, f"{prefix}het_job_id")
    offset = _json_number(het_offset, f"{prefix}het_job_offset")

    # 0 means "not an array job" and "not a heterogeneous job".
    array_job = _optional_str(array_job_id) if array_job_id else None
    task = _optional_str(task_id) if task_id is not None else (task_string or None)
    het_job = _optional_str(het_job_id) if het_job_id else None
    het_job_offset = int(offset) if het_job and offset is not None else None
    return {
        "array_job_id": array_job if task is not None else None,
        "array_task_id": task if array_job else None,
        "het_job_id": het_job,
        "het_job_offset": het_job_offset,
    }


def parse_squeue_json(data: str | bytes | Mapping) -> list[SchedulerJobStatus]:
    """Parse ``squeue --json`` output (text or the decoded object).

    squeue --json ignores the filter options and lists every job slurmctld holds, so
    the caller filters the result. The exit code is the raw wait status in v0.0.38.
    """
    document = _load_json(data, "squeue")
    statuses = []
    for index, job in enumerate(document["jobs"]):
        prefix = f"squeue jobs[{index}]."
        if not isinstance(job, Mapping):
            raise SlurmParseError(f"squeue jobs[{index}]", job, "expected an object")
        job_id = _json_job_id(job, f"{prefix}job_id")
        ids = _json_array_and_het(
            job_id,
            job.get("array_job_id"),
            job.get("array_task_id"),
            job.get("array_task_string"),
            job.get("het_job_id"),
            job.get("het_job_offset"),
            prefix,
        )
        state = parse_job_state(job.get("job_state"), f"{prefix}job_state")
        statuses.append(
            _job_status(
                from_squeue=True,
                scheduler_job_id=job_id,
                display_job_id=_json_display_job_id(
                    job_id,
                    ids["array_job_id"],
                    ids["array_task_id"],
                    ids["het_job_id"],
                    ids["het_job_offset"],
                ),
                state=state,
                reason=_json_string(job.get("state_reason"), f"{prefix}state_reason"),
                exit_status=_json_exit_status(job.get("exit_code"), f"{prefix}exit_code"),
                submit_time=parse_timestamp(job.get("submit_time"), f"{prefix}submit_time"),
                start_time=parse_timestamp(job.get("start_time"), f"{prefix}start_time"),
                end_time=parse_timestamp(job.get("end_time"), f"{prefix}end_time"),
                name=_json_string(job.get("name"), f"{prefix}name"),
                account=_json_string(job.get("account"), f"{prefix}account"),
                partition=_json_string(job.get("partition"), f"{prefix}partition"),
                user=_json_string(job.get("user_name"), f"{prefix}user_name"),
                time_limit_minutes=parse_time_limit_minutes(
                    job.get("time_limit"), f"{prefix}time_limit"
                ),
                cpus=_optional_int(_json_number(job.get("cpus"), f"{prefix}cpus")),
                requested_memory=_json_memory(job, prefix),
                priority=_optional_int(_json_number(job.get("priority"), f"{prefix}priority")),
                restart_count=_optional_int(
                    _json_number(job.get("restart_cnt"), f"{prefix}restart_cnt")
                ),
                **ids,
            )
        )
    return statuses


def _json_memory(job: Mapping, prefix: str) -> MemoryAmount | None:
    """Read squeue's memory_per_node or memory_per_cpu (megabytes), or None if neither is set."""
    for key, per in (("memory_per_node", "node"), ("memory_per_cpu", "cpu")):
        megabytes = _json_number(job.get(key), f"{prefix}{key}")
        if megabytes is not None:
            return MemoryAmount(int(megabytes), per)
    return None


def _optional_int(value: int | float | None) -> int | None:
    return int(value) if value is not None else None


def parse_sacct_json(data: str | bytes | Mapping) -> list[SchedulerJobStatus]:
    """Parse ``sacct --json`` output (text or the decoded object) into one status per job.

    sacct --json always includes the steps, and they are not returned. In 22.05 (dbv0.0.38)
    the job's exit_code is {"status": "SUCCESS", "return_code": 0} even when the job
    exited 3 (its state FAILED), so for that shape a success that contradicts the state
    becomes an unknown exit code (None). Signals are reported correctly there.
    """
    document = _load_json(data, "sacct")
    statuses = []
    for index, job in enumerate(document["jobs"]):
        prefix = f"sacct jobs[{index}]."
        if not isinstance(job, Mapping):
            raise SlurmParseError(f"sacct jobs[{index}]", job, "expected an object")
        job_id = _json_job_id(job, f"{prefix}job_id")

        state_info = job.get("state")
        if not isinstance(state_info, Mapping) or "current" not in state_info:
            raise SlurmParseError(f"{prefix}state", state_info, "expected {current, reason}")
        state = parse_job_state(state_info["current"], f"{prefix}state.current")

        exit_info = job.get("exit_code")
        exit_status = _json_exit_status(exit_info, f"{prefix}exit_code")
        legacy_shape = isinstance(exit_info, Mapping) and isinstance(exit_info.get("status"), str)
        if legacy_shape and exit_status == (0, 0) and state.name != "COMPLETED":
            exit_status = (None, None)

        times = job.get("time") or {}
        if not isinstance(times, Mapping):
            raise SlurmParseError(f"{prefix}time", times, "expected an object")
        array = job.get("array") or {}
        het = job.get("het") or {}
        if not isinstance(array, Mapping) or not isinstance(het, Mapping):
            raise SlurmParseError(f"{prefix}array/het", (array, het), "expected objects")
        ids = _json_array_and_het(
            job_id,
            array.get("job_id"),
            array.get("task_id"),
            array.get("task"),
            het.get("job_id"),
            het.get("job_offset"),
            prefix,
        )
        required = job.get("required") or {}
        statuses.append(
            _job_status(
                from_squeue=False,
                scheduler_job_id=job_id,
                display_job_id=_json_display_job_id(
                    job_id,
                    ids["array_job_id"],
                    ids["array_task_id"],
                    ids["het_job_id"],
                    ids["het_job_offset"],
                ),
                state=state,
                reason=_json_string(state_info.get("reason"), f"{prefix}state.reason"),
                exit_status=exit_status,
                submit_time=parse_timestamp(times.get("submission"), f"{prefix}time.submission"),
                start_time=parse_timestamp(times.get("start"), f"{prefix}time.start"),
                end_time=parse_timestamp(times.get("end"), f"{prefix}time.end"),
                name=_json_string(job.get("name"), f"{prefix}name"),
                account=_json_string(job.get("account"), f"{prefix}account"),
                partition=_json_string(job.get("partition"), f"{prefix}partition"),
                user=_json_string(job.get("user"), f"{prefix}user"),
                time_limit_minutes=parse_time_limit_minutes(
                    times.get("limit"), f"{prefix}time.limit"
                ),
                elapsed_seconds=_optional_int(
                    _json_number(times.get("elapsed"), f"{prefix}time.elapsed")
                ),
                cpus=_optional_int(_json_number(required.get("CPUs"), f"{prefix}required.CPUs"))
                if isinstance(required, Mapping)
                else None,
                priority=_optional_int(_json_number(job.get("priority"), f"{prefix}priority")),
                **ids,
            )
        )
    return statuses
