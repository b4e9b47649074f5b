"""Tests for apps.code_app.schedulers.slurm_parse.

Files named *_22.05.* under tests/fixtures/slurm are real output of Slurm 22.05.8 (Debian
12) from the single-node cluster of deployment/slurm, on 2026-12-04:

* squeue_22.05.txt, sacct_22.05.txt, sshare_22.05.txt: SQUEUE_ARGS, SACCT_ARGS (with
  --allusers and a time window) and SSHARE_ARGS with SLURM_TIME_ENV, at 21:58 UTC.
* squeue_iso_22.05.txt, sacct_steps_duplicates_iso_22.05.txt: the same moment with TZ=UTC
  instead, the sacct one without --allocations and with --duplicates.
* squeue_v0.0.38_22.05.json, sacct_dbv0.0.38_22.05.json: squeue --json and sacct --json
  of the same moment, keeping a subset of the jobs unchanged (the pending heterogeneous
  job 32+0/32+1 from 21:49). sacct_dbv0.0.38_error_22.05.json: sacct --json with
  --starttime=now-2hours.
* sacct_other_columns_22.05.txt and sprio_22.05.txt: at 21:52, sacct with another
  column list and SPRIO_ARGS.

The v0.0.40+ JSON below is written by hand, because no such cluster was available: the
number and exit_code shapes follow the v0.0.42 OpenAPI schema.
"""

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from apps.code_app.schedulers import slurm_parse
from apps.code_app.schedulers.slurm_parse import (
    JobState,
    MemoryAmount,
    SlurmJobId,
    SlurmParseError,
    decode_wait_status,
    parse_duration_seconds,
    parse_exit_code,
    parse_job_id,
    parse_job_state,
    parse_memory,
    parse_sacct,
    parse_sacct_json,
    parse_squeue,
    parse_squeue_json,
    parse_sprio,
    parse_sshare,
    parse_time_limit_minutes,
    parse_timestamp,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "slurm"


def fixture_text(name):
    return (FIXTURES / name).read_text()


def by_display_id(statuses):
    return {status.display_job_id: status for status in statuses}


def utc(epoch):
    return datetime.fromtimestamp(epoch, UTC)


# ---------------------------------------------------------------------------------------
# squeue text


@pytest.fixture(scope="module")
def squeue_jobs():
    return by_display_id(parse_squeue(fixture_text("squeue_22.05.txt")))


def test_squeue_format_puts_name_last():
    assert slurm_parse.SQUEUE_FORMAT.endswith("|%j")
    assert slurm_parse.SQUEUE_FORMAT.startswith("%A|%i|%T|%r|")
    assert f"--format={slurm_parse.SQUEUE_FORMAT}" in slurm_parse.SQUEUE_ARGS
    assert "--states=all" in slurm_parse.SQUEUE_ARGS


def test_squeue_reads_every_line(squeue_jobs):
    assert len(parse_squeue(fixture_text("squeue_22.05.txt"))) == 50
    assert len(squeue_jobs) == 50


def test_squeue_running_job(squeue_jobs):
    job = squeue_jobs["53"]
    assert job.scheduler_job_id == "53"
    assert job.state == "RUNNING"
    assert job.reason == "None"
    assert job.account == "u_6"
    assert job.partition == "long"
    assert job.user == "fairshare"
    assert job.name == "fx-long"
    assert job.submit_time == utc(1796421401)
    assert job.start_time == utc(1796421405)
    # squeue printed the expected end (start + 2 days); it is not a fact yet.
    assert job.end_time is None
    assert job.time_limit_minutes == 2 * 24 * 60
    assert job.elapsed_seconds == 100
    assert job.cpus == 1
    assert job.priority == 100
    assert job.exit_code is None
    assert job.signal is None


def test_squeue_pending_at_association_limit(squeue_jobs):
    job = squeue_jobs["65"]
    assert job.state == "PENDING"
    assert job.reason == "AssocMaxJobsLimit"
    assert job.account == "u_6"
    assert job.start_time is None
    assert job.end_time is None
    assert job.priority == 5814


def test_squeue_pending_begin_time_drops_estimates(squeue_jobs):
    job = squeue_jobs["39_[1-5]"]
    assert job.state == "PENDING"
    assert job.reason == "BeginTime"
    assert job.start_time is None
    assert job.end_time is None


def test_squeue_name_containing_delimiter(squeue_jobs):
    job = squeue_jobs["47"]
    assert job.name == "fx|pipe|name"
    assert job.state == "COMPLETED"
    assert job.partition == "long"


def test_squeue_array_tasks(squeue_jobs):
    first = squeue_jobs["48_1"]
    assert first.scheduler_job_id == "54"
    assert first.array_job_id == "48"
    assert first.array_task_id == "1"
    last = squeue_jobs["48_3"]
    assert last.scheduler_job_id == "48"
    assert last.array_task_id == "3"
    pending = squeue_jobs["39_[1-5]"]
    assert pending.scheduler_job_id == "39"
    assert pending.array_job_id == "39"
    assert pending.array_task_id == "1-5"


def test_squeue_finished_jobs(squeue_jobs):
    failed = squeue_jobs["43"]
    assert failed.state == "FAILED"
    assert failed.reason == "NonZeroExitCode"
    assert failed.partition == "express"
    assert failed.time_limit_minutes == 10
    assert failed.end_time == utc(1796421404)
    timeout = squeue_jobs["46"]
    assert timeout.state == "TIMEOUT"
    assert timeout.reason == "TimeLimit"
    assert timeout.time_limit_minutes == 1
    assert timeout.elapsed_seconds == 87
    assert timeout.end_time == utc(1796421489)
    launch_failure = squeue_jobs["49"]
    assert launch_failure.state == "FAILED"
    assert launch_failure.reason == "JobLaunchFailure"


def test_squeue_cancelled_while_pending(squeue_jobs):
    # squeue reports start = end = the cancel time for a job that never started.
    job = squeue_jobs["45"]
    assert job.state == "CANCELLED"
    assert job.reason == "BeginTime"
    assert job.start_time == utc(1796421414)
    assert job.end_time == utc(1796421414)


def test_squeue_has_no_exit_codes(squeue_jobs):
    assert all(job.exit_code is None for job in squeue_jobs.values())
    assert all(job.signal is None for job in squeue_jobs.values())


def test_squeue_iso_times_match_epoch(squeue_jobs):
    iso_jobs = by_display_id(parse_squeue(fixture_text("squeue_iso_22.05.txt")))
    assert iso_jobs.keys() == squeue_jobs.keys()
    for display_id, job in squeue_jobs.items():
        assert iso_jobs[display_id].submit_time == job.submit_time, display_id
        assert iso_jobs[display_id].start_time == job.start_time, display_id
        assert iso_jobs[display_id].end_time == job.end_time, display_id


def test_squeue_iso_times_use_local_timezone():
    line = "7|7|COMPLETED|None|u_1|normal|fairshare|2026-12-04T22:49:14|2026-12-04T22:49:15|2026-12-04T22:49:16|0:01|1:00:00|1|100|t\n"
    berlin_in_winter = timezone(timedelta(hours=1))
    (job,) = parse_squeue(line, local_timezone=berlin_in_winter)
    assert job.submit_time == datetime(2026, 12, 4, 21, 49, 14, tzinfo=UTC)
    assert job.end_time == datetime(2026, 12, 4, 21, 49, 16, tzinfo=UTC)


def test_squeue_heterogeneous_job_components():
    # Real 22.05.8 lines of a pending heterogeneous job. The %m column is removed, and the
    # %A column (the unique job ID) is added from squeue --json of the same moment.
    text = (
        "32|32+0|PENDING|Resources|u_5|normal|fairshare|2026-12-04T21:49:14|2026-12-04T21:49:41|2026-12-04T22:49:41|0:00|1:00:00|1|5100|het-demo\n"
        "33|32+1|PENDING|Resources|u_5|normal|fairshare|2026-12-04T21:49:14|2026-12-04T22:49:00|2026-12-04T23:49:00|0:00|1:00:00|1|5100|het-demo\n"
    )
    leader, second = parse_squeue(text)
    assert leader.submit_time == datetime(2026, 12, 4, 21, 49, 14, tzinfo=UTC)
    assert leader.start_time is None
    assert second.end_time is None
    assert leader.scheduler_job_id == "32"
    assert leader.het_job_id == "32"
    assert leader.het_job_offset == 0
    assert second.scheduler_job_id == "33"
    assert second.het_job_id == "32"
    assert second.het_job_offset == 1
    assert second.array_job_id is None


def test_squeue_header_line_skipped():
    text = (
        "JOBID|JOBID|STATE|REASON|ACCOUNT|PARTITION|USER|SUBMIT_TIME|START_TIME|END_TIME|TIME|TIME_LIMIT|CPUS|PRIORITY|NAME\n"
        "5|5|RUNNING|None|u_1|normal|fairshare|1796420937|1796420937|1796424537|3:23|1:00:00|1|100|cap-u1-5\n"
    )
    (job,) = parse_squeue(text)
    assert job.scheduler_job_id == "5"


def test_squeue_name_with_newline():
    text = (
        "8|8|RUNNING|None|u_1|normal|fairshare|1796420937|1796420937|1796424537|3:23|1:00:00|1|100|first\n"
        "second line\n"
        "9|9|PENDING|Priority|u_1|normal|fairshare|1796420937|N/A|N/A|0:00|1:00:00|1|100|other\n"
    )
    first, other = parse_squeue(text)
    assert first.name == "first\nsecond line"
    assert other.name == "other"


def test_squeue_short_line_rejected():
    with pytest.raises(SlurmParseError) as error:
        parse_squeue("5|5|RUNNING\n")
    assert error.value.field == "squeue line"
    assert "5|5|RUNNING" in str(error.value)


def test_squeue_invalid_state_rejected():
    line = "5|5|running|None|u_1|normal|fairshare|1796420937|N/A|N/A|0:00|1:00:00|1|100|x\n"
    with pytest.raises(SlurmParseError) as error:
        parse_squeue(line)
    assert error.value.field == "squeue %T (state)"
    assert error.value.value == "running"


# ---------------------------------------------------------------------------------------
# sacct text


@pytest.fixture(scope="module")
def sacct_jobs():
    return by_display_id(parse_sacct(fixture_text("sacct_22.05.txt")))


def test_sacct_failed_job(sacct_jobs):
    job = sacct_jobs["43"]
    assert job.state == "FAILED"
    assert job.exit_code == 3
    assert job.signal == 0
    assert job.partition == "express"
    assert job.time_limit_minutes == 10
    assert job.elapsed_seconds == 2
    assert job.start_time == utc(1796421402)
    assert job.end_time == utc(1796421404)


def test_sacct_cancelled_by_user_id(sacct_jobs):
    job = sacct_jobs["44"]
    assert job.state == "CANCELLED"
    assert job.cancelled_by_uid == 0
    assert job.exit_code == 0
    assert job.signal == 0


def test_sacct_launch_failure_signal(sacct_jobs):
    job = sacct_jobs["49"]
    assert job.state == "FAILED"
    assert job.exit_code == 0
    assert job.signal == 53


def test_sacct_killed_job_signal(sacct_jobs):
    job = sacct_jobs["52"]
    assert job.state == "FAILED"
    assert job.signal == 9


def test_sacct_timeout(sacct_jobs):
    job = sacct_jobs["46"]
    assert job.state == "TIMEOUT"
    assert job.time_limit_minutes == 1
    assert job.elapsed_seconds == 87


def test_sacct_running_job_unknown_end(sacct_jobs):
    job = sacct_jobs["53"]
    assert job.state == "RUNNING"
    assert job.end_time is None
    assert job.exit_code is None
    assert job.time_limit_minutes == 2880


def test_sacct_pending_job_unknown_start(sacct_jobs):
    job = sacct_jobs["65"]
    assert job.state == "PENDING"
    assert job.start_time is None
    assert job.exit_code is None


def test_sacct_array_task_raw_id(sacct_jobs):
    job = sacct_jobs["48_1"]
    assert job.scheduler_job_id == "54"
    assert job.array_job_id == "48"
    assert job.array_task_id == "1"


def test_sacct_name_containing_delimiter(sacct_jobs):
    assert sacct_jobs["47"].name == "fx|pipe|name"


def test_sacct_requested_memory(sacct_jobs):
    assert sacct_jobs["50"].requested_memory == MemoryAmount(4096, None)
    assert sacct_jobs["50"].cpus == 2
    assert sacct_jobs["43"].requested_memory == MemoryAmount(100, None)


def test_sacct_skips_steps_by_default(sacct_jobs):
    assert all(job.step_id is None for job in sacct_jobs.values())
    assert len(sacct_jobs) == 61


def test_sacct_steps_on_request():
    statuses = parse_sacct(fixture_text("sacct_steps_duplicates_iso_22.05.txt"), include_steps=True)
    steps = {status.display_job_id: status for status in statuses if status.step_id is not None}
    assert steps["51.batch"].scheduler_job_id == "51"
    assert steps["51.batch"].step_id == "batch"
    assert steps["51.0"].step_id == "0"
    assert steps["51.0"].state == "COMPLETED"
    assert steps["51.1"].state == "FAILED"
    assert steps["51.1"].exit_code == 1
    assert steps["44.batch"].state == "CANCELLED"
    assert steps["44.batch"].signal == 15
    assert steps["48_1.batch"].scheduler_job_id == "54"
    assert steps["48_1.batch"].array_task_id == "1"
    assert steps["51.batch"].partition == ""
    assert steps["51.batch"].time_limit_minutes is None


def test_sacct_duplicates_keep_requeued_run():
    statuses = parse_sacct(fixture_text("sacct_steps_duplicates_iso_22.05.txt"))
    runs = [status for status in statuses if status.scheduler_job_id == "41"]
    assert [run.state for run in runs] == ["REQUEUED", "COMPLETED"]
    assert runs[0].start_time == datetime(2026, 12, 4, 21, 53, 33, tzinfo=UTC)
    assert runs[0].end_time == datetime(2026, 12, 4, 21, 53, 37, tzinfo=UTC)
    assert runs[0].exit_code is None
    assert runs[1].exit_code == 0


def test_sacct_header_defines_columns():
    # Real 22.05.8 output with a different column set: no User, no Reason.
    jobs = by_display_id(parse_sacct(fixture_text("sacct_other_columns_22.05.txt")))
    leader = jobs["32+0"]
    second = jobs["32+1"]
    assert leader.scheduler_job_id == "32"
    assert second.scheduler_job_id == "33"
    assert second.het_job_id == "32"
    assert second.het_job_offset == 1
    assert second.state == "CANCELLED"
    assert second.cancelled_by_uid == 0
    # Start "None": the job never started.
    assert second.start_time is None
    assert second.user == ""
    assert second.reason == ""
    assert jobs["35"].requested_memory == MemoryAmount(4096, None)


def test_sacct_without_header_uses_default_columns(sacct_jobs):
    text = fixture_text("sacct_22.05.txt").partition("\n")[2]
    jobs = by_display_id(parse_sacct(text))
    assert jobs.keys() == sacct_jobs.keys()
    assert jobs["43"] == sacct_jobs["43"]


def test_sacct_name_in_middle_column():
    text = (
        "JobID|JobName|Account|Partition|State|ExitCode|Submit|Start|End|Elapsed|TimelimitRaw|AllocCPUS|ReqMem\n"
        "12|a|b||c|u_1|normal|COMPLETED|0:0|1796421400|1796421402|1796421404|00:00:02|60|1|100M\n"
    )
    (job,) = parse_sacct(text)
    assert job.name == "a|b||c"
    assert job.account == "u_1"
    assert job.scheduler_job_id == "12"
    assert job.time_limit_minutes == 60


def test_sacct_states_of_other_failures():
    text = (
        "JobIDRaw|JobID|State|ExitCode|TimelimitRaw|ReqMem|JobName\n"
        "70|70|OUT_OF_MEMORY|0:125|UNLIMITED|16Gn|oom\n"
        "71|71|NODE_FAIL|0:0|Partition_Limit|2Gc|node\n"
        "72|72|PREEMPTED|0:15|60|4000M|preempt\n"
        "73|73|BOOT_FAIL|0:0|60||boot\n"
        "74|74|DEADLINE|0:0|60||deadline\n"
    )
    jobs = by_display_id(parse_sacct(text))
    assert jobs["70"].state == "OUT_OF_MEMORY"
    assert jobs["70"].signal == 125
    assert jobs["70"].time_limit_minutes is None
    assert jobs["70"].requested_memory == MemoryAmount(16384, "node")
    assert jobs["71"].state == "NODE_FAIL"
    assert jobs["71"].time_limit_minutes is None
    assert jobs["71"].requested_memory == MemoryAmount(2048, "cpu")
    assert jobs["72"].state == "PREEMPTED"
    assert jobs["73"].state == "BOOT_FAIL"
    assert jobs["74"].state == "DEADLINE"
    assert all(slurm_parse.is_terminal_state(job.state) for job in jobs.values())


def test_sacct_invalid_exit_code_rejected():
    text = "JobIDRaw|JobID|State|ExitCode\n12|12|FAILED|three\n"
    with pytest.raises(SlurmParseError) as error:
        parse_sacct(text)
    assert error.value.field == "sacct ExitCode"
    assert error.value.value == "three"


def test_sacct_missing_state_column_rejected():
    with pytest.raises(SlurmParseError) as error:
        parse_sacct("JobIDRaw|JobID|ExitCode\n12|12|0:0\n")
    assert error.value.field == "sacct columns"


# ---------------------------------------------------------------------------------------
# JSON from 22.05 (openapi/v0.0.38 and dbv0.0.38)


@pytest.fixture(scope="module")
def squeue_json_jobs():
    return by_display_id(parse_squeue_json(fixture_text("squeue_v0.0.38_22.05.json")))


def test_squeue_json_exit_codes(squeue_json_jobs):
    assert (squeue_json_jobs["43"].exit_code, squeue_json_jobs["43"].signal) == (3, 0)
    assert (squeue_json_jobs["44"].exit_code, squeue_json_jobs["44"].signal) == (0, 15)
    assert (squeue_json_jobs["46"].exit_code, squeue_json_jobs["46"].signal) == (0, 15)
    assert (squeue_json_jobs["49"].exit_code, squeue_json_jobs["49"].signal) == (0, 53)
    assert squeue_json_jobs["53"].exit_code is None


def test_squeue_json_states_and_times(squeue_json_jobs):
    running = squeue_json_jobs["53"]
    assert running.state == "RUNNING"
    assert running.start_time == utc(1796421405)
    assert running.end_time is None
    assert running.time_limit_minutes == 2880
    assert running.restart_count == 0
    pending = squeue_json_jobs["65"]
    assert pending.state == "PENDING"
    assert pending.reason == "AssocMaxJobsLimit"
    assert pending.start_time is None
    assert squeue_json_jobs["46"].state == "TIMEOUT"


def test_squeue_json_array_and_het_ids(squeue_json_jobs):
    assert squeue_json_jobs["48_3"].scheduler_job_id == "48"
    assert squeue_json_jobs["48_3"].array_task_id == "3"
    assert squeue_json_jobs["39_[1-5]"].array_task_id == "1-5"
    assert squeue_json_jobs["32+1"].scheduler_job_id == "33"
    assert squeue_json_jobs["32+1"].het_job_id == "32"
    assert squeue_json_jobs["32+1"].het_job_offset == 1
    assert squeue_json_jobs["43"].array_job_id is None
    assert squeue_json_jobs["43"].het_job_id is None


def test_squeue_json_memory_request(squeue_json_jobs):
    assert squeue_json_jobs["50"].requested_memory == MemoryAmount(4096, "node")
    assert squeue_json_jobs["43"].requested_memory == MemoryAmount(100, "cpu")


def test_squeue_json_agrees_with_text(squeue_jobs, squeue_json_jobs):
    # Both were captured within a second of each other.
    shared = set(squeue_jobs) & set(squeue_json_jobs)
    assert len(shared) == 11
    for display_id in shared:
        text_job = squeue_jobs[display_id]
        json_job = squeue_json_jobs[display_id]
        assert json_job.scheduler_job_id == text_job.scheduler_job_id, display_id
        assert json_job.state == text_job.state, display_id
        assert json_job.reason == text_job.reason, display_id
        assert json_job.name == text_job.name, display_id
        assert json_job.submit_time == text_job.submit_time, display_id
        assert json_job.start_time == text_job.start_time, display_id
        assert json_job.end_time == text_job.end_time, display_id
        assert json_job.time_limit_minutes == text_job.time_limit_minutes, display_id


@pytest.fixture(scope="module")
def sacct_json_jobs():
    return parse_sacct_json(fixture_text("sacct_dbv0.0.38_22.05.json"))


def test_sacct_json_failed_exit_unknown(sacct_json_jobs):
    # 22.05 reports {"status": "SUCCESS", "return_code": 0} for a job that exited 3.
    job = by_display_id(sacct_json_jobs)["43"]
    assert job.state == "FAILED"
    assert job.exit_code is None
    assert job.signal is None


def test_sacct_json_signals_kept(sacct_json_jobs):
    jobs = by_display_id(sacct_json_jobs)
    assert (jobs["49"].exit_code, jobs["49"].signal) == (0, 53)
    assert (jobs["52"].exit_code, jobs["52"].signal) == (0, 9)
    assert (jobs["47"].exit_code, jobs["47"].signal) == (0, 0)


def test_sacct_json_includes_requeued_runs(sacct_json_jobs):
    runs = [job for job in sacct_json_jobs if job.scheduler_job_id == "41"]
    assert [run.state for run in runs] == ["REQUEUED", "COMPLETED"]
    assert runs[1].start_time == utc(1796421339)


def test_sacct_json_ids_and_times(sacct_json_jobs):
    jobs = by_display_id(sacct_json_jobs)
    assert jobs["48_1"].scheduler_job_id == "54"
    assert jobs["32+0"].het_job_offset == 0
    assert jobs["32+0"].start_time is None
    assert jobs["32+0"].state == "CANCELLED"
    assert jobs["46"].time_limit_minutes == 1
    assert jobs["46"].elapsed_seconds == 87
    assert jobs["50"].cpus == 2


def test_sacct_json_errors_raise():
    # 22.05 sacct --json rejects --starttime=now-2hours with this error list.
    with pytest.raises(SlurmParseError) as error:
        parse_sacct_json(fixture_text("sacct_dbv0.0.38_error_22.05.json"))
    assert error.value.field == "sacct --json errors"
    assert "Unable to parse time format" in str(error.value)


# ---------------------------------------------------------------------------------------
# JSON from data_parser v0.0.40 and later (hand-written from the schema)


def no_val(number, *, set_=True, infinite=False):
    return {"set": set_, "infinite": infinite, "number": number}


def modern_squeue_job(**overrides):
    job = {
        "account": "u_1",
        "array_job_id": no_val(0),
        "array_task_id": no_val(0, set_=False),
        "array_task_string": "",
        "cpus": no_val(1),
        "end_time": no_val(1796424540),
        "exit_code": {
            "status": ["PENDING"],
            "return_code": no_val(0, set_=False),
            "signal": {"id": no_val(0, set_=False), "name": ""},
        },
        "het_job_id": no_val(0),
        "het_job_offset": no_val(0, set_=False),
        "job_id": 101,
        "job_state": ["RUNNING"],
        "memory_per_cpu": no_val(100),
        "memory_per_node": no_val(0, set_=False),
        "name": "modern",
        "partition": "normal",
        "priority": no_val(5100),
        "restart_cnt": no_val(0),
        "start_time": no_val(1796420940),
        "state_reason": "None",
        "submit_time": no_val(1796420938),
        "time_limit": no_val(60),
        "user_name": "fairshare",
    }
    job.update(overrides)
    return job


def modern_document(jobs):
    return {
        "jobs": jobs,
        "meta": {"plugin": {"data_parser": "data_parser/v0.0.40"}},
        "errors": [],
        "warnings": [],
    }


def test_modern_squeue_running_job():
    (job,) = parse_squeue_json(json.dumps(modern_document([modern_squeue_job()])))
    assert job.scheduler_job_id == "101"
    assert job.display_job_id == "101"
    assert job.state == "RUNNING"
    assert job.state_flags == ()
    assert job.start_time == utc(1796420940)
    assert job.end_time is None
    assert job.time_limit_minutes == 60
    assert job.priority == 5100
    assert job.restart_count == 0
    assert job.exit_code is None
    assert job.array_job_id is None
    assert job.het_job_id is None
    assert job.requested_memory == MemoryAmount(100, "cpu")


def test_modern_squeue_requeued_pending_job():
    pending = modern_squeue_job(
        job_state=["PENDING", "REQUEUED"],
        state_reason="BeginTime",
        start_time=no_val(1796424000),
        restart_cnt=no_val(1),
    )
    (job,) = parse_squeue_json(modern_document([pending]))
    assert job.state == "REQUEUED"
    assert job.state_flags == ("PENDING",)
    assert job.start_time is None
    assert job.restart_count == 1
    assert job.state in slurm_parse.PENDING_STATES


def test_modern_squeue_completing_job():
    completing = modern_squeue_job(job_state=["FAILED", "COMPLETING"])
    (job,) = parse_squeue_json(modern_document([completing]))
    assert job.state == "COMPLETING"
    assert job.state_flags == ("FAILED",)


def test_modern_squeue_exit_code_and_signal():
    failed = modern_squeue_job(
        job_id=102,
        job_state=["FAILED"],
        exit_code={
            "status": ["ERROR"],
            "return_code": no_val(3),
            "signal": {"id": no_val(0, set_=False), "name": ""},
        },
    )
    killed = modern_squeue_job(
        job_id=103,
        job_state=["CANCELLED"],
        exit_code={
            "status": ["SIGNALED"],
            "return_code": no_val(0, set_=False),
            "signal": {"id": no_val(9), "name": "KILL"},
        },
    )
    jobs = by_display_id(parse_squeue_json(modern_document([failed, killed])))
    assert (jobs["102"].exit_code, jobs["102"].signal) == (3, 0)
    assert (jobs["103"].exit_code, jobs["103"].signal) == (0, 9)
    assert jobs["102"].end_time == utc(1796424540)


def test_modern_squeue_array_task_and_unlimited():
    task = modern_squeue_job(
        job_id=131,
        array_job_id=no_val(129),
        array_task_id=no_val(2),
        time_limit=no_val(0, infinite=True),
    )
    (job,) = parse_squeue_json(modern_document([task]))
    assert job.display_job_id == "129_2"
    assert job.scheduler_job_id == "131"
    assert job.array_job_id == "129"
    assert job.array_task_id == "2"
    assert job.time_limit_minutes is None


def test_modern_squeue_unknown_number_rejected():
    broken = modern_squeue_job(time_limit={"value": 60})
    with pytest.raises(SlurmParseError) as error:
        parse_squeue_json(modern_document([broken]))
    assert error.value.field == "squeue jobs[0].time_limit"
    assert error.value.value == {"value": 60}


def test_modern_squeue_state_object_rejected():
    broken = modern_squeue_job(job_state={"current": "RUNNING"})
    with pytest.raises(SlurmParseError) as error:
        parse_squeue_json(modern_document([broken]))
    assert error.value.field == "squeue jobs[0].job_state"


def test_modern_sacct_job():
    job = {
        "account": "u_2",
        "array": {"job_id": 0, "task_id": no_val(0, set_=False), "task": ""},
        "exit_code": {
            "status": ["ERROR"],
            "return_code": no_val(3),
            "signal": {"id": no_val(0, set_=False), "name": ""},
        },
        "het": {"job_id": 0, "job_offset": no_val(0, set_=False)},
        "job_id": 205,
        "name": "modern-fail",
        "partition": "express",
        "priority": no_val(1000),
        "required": {"CPUs": 2, "memory_per_cpu": no_val(100)},
        "state": {"current": ["FAILED"], "reason": "NonZeroExitCode"},
        "steps": [],
        "time": {
            "elapsed": 2,
            "end": 1796421404,
            "limit": no_val(10),
            "start": 1796421402,
            "submission": 1796421400,
        },
        "user": "fairshare",
    }
    (status,) = parse_sacct_json(modern_document([job]))
    assert status.state == "FAILED"
    assert status.reason == "NonZeroExitCode"
    assert (status.exit_code, status.signal) == (3, 0)
    assert status.time_limit_minutes == 10
    assert status.start_time == utc(1796421402)
    assert status.end_time == utc(1796421404)
    assert status.cpus == 2
    assert status.priority == 1000
    assert status.array_job_id is None
    assert status.het_job_id is None


def test_json_without_jobs_rejected():
    with pytest.raises(SlurmParseError) as error:
        parse_squeue_json('{"meta": {}, "errors": []}')
    assert error.value.field == "squeue --json jobs"


def test_json_syntax_error_rejected():
    with pytest.raises(SlurmParseError) as error:
        parse_sacct_json("{not json")
    assert error.value.field == "sacct --json output"


# ---------------------------------------------------------------------------------------
# sshare and sprio


def test_sshare_fair_share_diverges():
    rows = parse_sshare(fixture_text("sshare_22.05.txt"))
    users = {(row.account, row.user): row for row in rows if row.user}
    heavy = users[("u_1", "fairshare")]
    light = users[("u_6", "fairshare")]
    assert heavy.raw_usage == 5206
    assert light.raw_usage == 180
    assert heavy.fair_share == pytest.approx(0.142857)
    assert light.fair_share == pytest.approx(0.571429)
    assert heavy.fair_share < light.fair_share
    assert heavy.depth == 3


def test_sshare_account_lines():
    rows = parse_sshare(fixture_text("sshare_22.05.txt"))
    root = rows[0]
    assert root.account == "root"
    assert root.user is None
    assert root.depth == 0
    assert root.raw_shares is None
    assert root.fair_share is None
    platform = rows[2]
    assert platform.account == "platform"
    assert platform.user is None
    assert platform.depth == 1
    assert platform.norm_shares == pytest.approx(0.5)


def test_sshare_line_before_tree():
    # Real 22.05.8 output right after u_2 was created: its line came before root.
    text = (
        "Account|User|RawShares|NormShares|RawUsage|EffectvUsage|FairShare\n"
        "u_2|fairshare|1|1.000000|0|0.000000|0.000000\n"
        "root|||0.000000|0|1.000000|\n"
        " root|root|1|0.500000|0|0.000000|1.000000\n"
        " platform||1|0.500000|0|0.000000|\n"
    )
    rows = parse_sshare(text)
    assert rows[0].account == "u_2"
    assert rows[0].user == "fairshare"
    assert rows[0].depth == 0
    assert rows[0].fair_share == 0.0
    assert [row.account for row in rows] == ["u_2", "root", "root", "platform"]


def test_sshare_without_header_and_parent_shares():
    text = "  u_9|fairshare|parent|0.250000|12|0.100000|0.750000\n"
    (row,) = parse_sshare(text)
    assert row.raw_shares is None
    assert row.depth == 2
    assert row.fair_share == pytest.approx(0.75)


def test_sshare_invalid_number_rejected():
    with pytest.raises(SlurmParseError) as error:
        parse_sshare("u_1|fairshare|1|half|0|0.0|1.0\n")
    assert error.value.field == "sshare NormShares"


def test_sprio_lines():
    priorities = parse_sprio(fixture_text("sprio_22.05.txt"))
    assert len(priorities) == 10
    first = priorities[0]
    assert first.scheduler_job_id == "11"
    assert first.user == "fairshare"
    assert first.priority == 1766
    assert first.fair_share == 1667
    assert first.partition == 100
    assert first.qos == 0


def test_sprio_header_and_normalised_values():
    text = "JOBID|USER|PRIORITY|FAIRSHARE|PARTITION|QOS\n39_[1-5]|fairshare|0.00000102|0.5000000|0.1000000|0.0000000\n"
    (priority,) = parse_sprio(text)
    assert priority.scheduler_job_id == "39_[1-5]"
    assert priority.fair_share == pytest.approx(0.5)


def test_sprio_missing_value_rejected():
    with pytest.raises(SlurmParseError) as error:
        parse_sprio("11|fairshare||1667|100|0\n")
    assert error.value.field == "sprio %Y (priority)"


# ---------------------------------------------------------------------------------------
# Value helpers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("RUNNING", JobState("RUNNING")),
        ("CANCELLED by 1002", JobState("CANCELLED", cancelled_by_uid=1002)),
        ("OUT_OF_MEMORY", JobState("OUT_OF_MEMORY")),
        ("NODE_FAIL", JobState("NODE_FAIL")),
        (["RUNNING"], JobState("RUNNING")),
        (["PENDING", "REQUEUED"], JobState("REQUEUED", ("PENDING",))),
        (["COMPLETED", "COMPLETING"], JobState("COMPLETING", ("COMPLETED",))),
        (["PENDING", "REQUEUE_HOLD"], JobState("REQUEUE_HOLD", ("PENDING",))),
    ],
)
def test_job_state_forms(text, expected):
    assert parse_job_state(text) == expected


@pytest.mark.parametrize(
    "value", ["", "running", "CANCELLED by", "CANCELLED by root", [], [3], 7, None]
)
def test_job_state_invalid(value):
    with pytest.raises(SlurmParseError) as error:
        parse_job_state(value, "state field")
    assert error.value.field == "state field"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3:0", (3, 0)),
        ("0:15", (0, 15)),
        ("0:53", (0, 53)),
        ("255:0", (255, 0)),
        ("", (None, None)),
    ],
)
def test_exit_code_forms(text, expected):
    assert parse_exit_code(text) == expected


@pytest.mark.parametrize("text", ["3", "3:", "a:b", "-1:0"])
def test_exit_code_invalid(text):
    with pytest.raises(SlurmParseError):
        parse_exit_code(text)


@pytest.mark.parametrize(
    ("status", "expected"),
    [(0, (0, 0)), (512, (2, 0)), (768, (3, 0)), (15, (0, 15)), (9, (0, 9)), (4021, (0, 53))],
)
def test_wait_status_decoding(status, expected):
    assert decode_wait_status(status) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1-02:03:04", 93784),
        ("02:03:04", 7384),
        ("3:04", 184),
        ("00:00:00", 0),
        ("00:01.250", 1),
        ("45", 45),
        (45, 45),
        ("UNLIMITED", None),
        ("INVALID", None),
        ("Partition_Limit", None),
        ("NOT_SET", None),
        ("N/A", None),
        ("", None),
    ],
)
def test_duration_forms(text, expected):
    assert parse_duration_seconds(text) == expected


@pytest.mark.parametrize("text", ["1-02", "soon", "1:2:3:4", "-5"])
def test_duration_invalid(text):
    with pytest.raises(SlurmParseError) as error:
        parse_duration_seconds(text, "Elapsed")
    assert error.value.field == "Elapsed"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("60", 60),
        (60, 60),
        ("1:00:00", 60),
        ("10:00", 10),
        ("0:30", 1),
        ("1-00:00:00", 1440),
        ("7-00:00:00", 10080),
        ("UNLIMITED", None),
        ("Partition_Limit", None),
        ("NOT_SET", None),
        ("INVALID", None),
        (4294967295, None),
        (None, None),
        (no_val(60), 60),
        (no_val(0, infinite=True), None),
        (no_val(0, set_=False), None),
    ],
)
def test_time_limit_forms(value, expected):
    assert parse_time_limit_minutes(value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4000M", MemoryAmount(4000)),
        ("4G", MemoryAmount(4096)),
        ("16Gn", MemoryAmount(16384, "node")),
        ("2Gc", MemoryAmount(2048, "cpu")),
        ("4000Mc", MemoryAmount(4000, "cpu")),
        ("512K", MemoryAmount(1)),
        ("1.5G", MemoryAmount(1536)),
        ("1T", MemoryAmount(1024 * 1024)),
        ("100", MemoryAmount(100)),
        ("", None),
    ],
)
def test_memory_forms(text, expected):
    assert parse_memory(text) == expected


@pytest.mark.parametrize("text", ["4X", "G", "4 G", "-4G"])
def test_memory_invalid(text):
    with pytest.raises(SlurmParseError):
        parse_memory(text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1796421400", utc(1796421400)),
        (1796421400, utc(1796421400)),
        (no_val(1796421400), utc(1796421400)),
        ("2026-12-04T21:56:40", datetime(2026, 12, 4, 21, 56, 40, tzinfo=UTC)),
        ("2026-12-04T22:56:40+01:00", datetime(2026, 12, 4, 21, 56, 40, tzinfo=UTC)),
        ("Unknown", None),
        ("None", None),
        ("N/A", None),
        ("", None),
        ("0", None),
        (0, None),
        (None, None),
        (no_val(0, set_=False), None),
    ],
)
def test_timestamp_forms(value, expected):
    assert parse_timestamp(value) == expected


def test_timestamp_naive_iso_uses_local_timezone():
    new_york_in_winter = timezone(timedelta(hours=-5))
    parsed = parse_timestamp("2026-12-04T16:56:40", local_timezone=new_york_in_winter)
    assert parsed == datetime(2026, 12, 4, 21, 56, 40, tzinfo=UTC)
    assert parsed.tzinfo == UTC


@pytest.mark.parametrize("value", ["yesterday", "2026-13-04T21:56:40", True, [1]])
def test_timestamp_invalid(value):
    with pytest.raises(SlurmParseError) as error:
        parse_timestamp(value, "sacct Start")
    assert error.value.field == "sacct Start"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", SlurmJobId("12")),
        ("129_1", SlurmJobId("129", array_task_id="1")),
        ("129_[2-5]", SlurmJobId("129", array_task_id="2-5")),
        ("129_[2-5%2]", SlurmJobId("129", array_task_id="2-5%2")),
        ("12+0", SlurmJobId("12", het_job_offset=0)),
        ("12+1", SlurmJobId("12", het_job_offset=1)),
        ("12.batch", SlurmJobId("12", step_id="batch")),
        ("12.extern", SlurmJobId("12", step_id="extern")),
        ("12.0", SlurmJobId("12", step_id="0")),
        ("129_1.batch", SlurmJobId("129", array_task_id="1", step_id="batch")),
        ("12+1.0", SlurmJobId("12", het_job_offset=1, step_id="0")),
    ],
)
def test_job_id_forms(text, expected):
    assert parse_job_id(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "12_", "12..batch", "12+x"])
def test_job_id_invalid(text):
    with pytest.raises(SlurmParseError):
        parse_job_id(text)


def test_parse_error_names_field_and_value():
    error = SlurmParseError("sacct State", "weird")
    assert error.field == "sacct State"
    assert error.value == "weird"
    assert str(error) == "invalid sacct State in Slurm output: 'weird'"
    assert isinstance(error, ValueError)


def test_parse_error_shortens_long_values():
    error = SlurmParseError("squeue line", "x" * 1000)
    assert len(str(error)) < 300
