"""Integration tests for apps.core.ratelimit against a real Redis.

REDIS_URL selects the server (default redis://127.0.0.1:6379/14). Every test
writes under a key prefix unique to the test run and deletes its keys after.
The module uses no Django settings, so it runs under pytest-django and also
with ``-p no:django --noconftest``.
"""

import multiprocessing
import os
import threading
import time
import uuid
from unittest import mock

import pytest
import redis

from apps.core.ratelimit import RateLimitDecision, RateLimiter, RateLimitPolicy

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14")
RUN_PREFIX = f"test-rl-{uuid.uuid4().hex[:12]}"

RACERS = 64


def _delete_keys(client, prefix):
    for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        client.delete(key)


@pytest.fixture
def redis_client():
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError as error:
        pytest.fail(f"Redis at {REDIS_URL} is not reachable ({error}); start redis-server or set REDIS_URL")
    yield client
    client.close()


@pytest.fixture
def prefix(redis_client, request):
    test_prefix = f"{RUN_PREFIX}-{request.node.originalname}"
    yield test_prefix
    _delete_keys(redis_client, test_prefix)


@pytest.fixture
def limiter(redis_client, prefix):
    return RateLimiter(redis_client, prefix=prefix)


# Policy parsing ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rate", "period"),
    [
        ("10/sec", 10, 1),
        ("10/s", 10, 1),
        ("10/second", 10, 1),
        ("10/min", 10, 60),
        ("10/m", 10, 60),
        ("10/minute", 10, 60),
        ("5/hour", 5, 3600),
        ("5/h", 5, 3600),
        ("1000/day", 1000, 86400),
        ("1000/d", 1000, 86400),
        (" 7 / MIN ", 7, 60),
    ],
)
def test_policy_parse_units(text, rate, period):
    policy = RateLimitPolicy.parse(text)

    assert policy.rate == rate
    assert policy.period == period
    assert policy.burst == rate


def test_policy_parse_keeps_burst():
    policy = RateLimitPolicy.parse("10/min", burst=5)

    assert policy == RateLimitPolicy(10, 60, burst=5)
    assert policy.emission_interval == 6.0


@pytest.mark.parametrize("text", ["10/week", "ten/min", "10", "/min", "10/", "-1/min", "1.5/min", ""])
def test_policy_parse_rejects_bad_text(text):
    with pytest.raises(ValueError) as raised:
        RateLimitPolicy.parse(text)

    assert repr(text) in str(raised.value)


@pytest.mark.parametrize(
    ("rate", "period", "burst"),
    [
        (0, 60, None),
        (10, 0, None),
        (10, -1, None),
        (10, 1e-9, None),
        (10, float("inf"), None),
        (10, 60, 0),
        (True, 60, None),
        (10, "60", None),
    ],
)
def test_policy_rejects_bad_values(rate, period, burst):
    with pytest.raises(ValueError):
        RateLimitPolicy(rate, period, burst=burst)


def test_policy_parse_rejects_zero_rate():
    with pytest.raises(ValueError, match="invalid rate 0"):
        RateLimitPolicy.parse("0/min")


def test_decision_retry_after_seconds_rounds_up():
    assert RateLimitDecision(False, 5, 0, 30.0, retry_after=0.001).retry_after_seconds == 1
    assert RateLimitDecision(False, 5, 0, 30.0, retry_after=5.997).retry_after_seconds == 6
    assert RateLimitDecision(False, 5, 0, 30.0, retry_after=6.001).retry_after_seconds == 7
    assert RateLimitDecision(True, 5, 4, 6.0).retry_after_seconds is None


# Decisions -----------------------------------------------------------------


def test_hit_burst_then_retry_after_matches_policy(limiter):
    policy = RateLimitPolicy.parse("10/min", burst=5)

    started = time.monotonic()
    decisions = [limiter.hit("ai", "user:1", policy) for _ in range(5)]
    denied = limiter.hit("ai", "user:1", policy)
    elapsed = time.monotonic() - started

    assert all(decision.allowed for decision in decisions)
    assert [decision.remaining for decision in decisions] == [4, 3, 2, 1, 0]
    assert all(decision.limit == 5 for decision in decisions)
    assert all(decision.retry_after is None for decision in decisions)
    assert denied.allowed is False
    assert denied.remaining == 0
    # One token comes back every 60 / 10 = 6 seconds.
    assert 6.0 - elapsed - 0.01 <= denied.retry_after <= 6.001
    assert denied.retry_after_seconds == 6
    # The bucket is full again after 5 tokens × 6 seconds.
    assert 30.0 - elapsed - 0.01 <= denied.reset_in <= 30.001


def test_hit_denied_spends_nothing(limiter):
    policy = RateLimitPolicy.parse("10/min", burst=5)
    for _ in range(5):
        limiter.hit("ai", "user:1", policy)

    first = limiter.hit("ai", "user:1", policy)
    for _ in range(20):
        limiter.hit("ai", "user:1", policy)
    last = limiter.hit("ai", "user:1", policy)

    assert first.allowed is False
    assert last.allowed is False
    # Denied hits must not push the next admission further out.
    assert last.retry_after <= first.retry_after


def test_hit_default_burst_equals_rate(limiter):
    policy = RateLimitPolicy.parse("1000/day")

    first = limiter.hit("api", "user:1", policy)
    rest = limiter.hit("api", "user:1", policy, cost=999)
    denied = limiter.hit("api", "user:1", policy)

    assert first.allowed is True
    assert first.limit == 1000
    assert first.remaining == 999
    assert rest.allowed is True
    assert rest.remaining == 0
    assert denied.allowed is False
    # One request every 86400 / 1000 = 86.4 seconds.
    assert 85.0 <= denied.retry_after <= 86.401


def test_hit_cost_larger_than_remaining_denied(limiter):
    policy = RateLimitPolicy(10, 60, burst=5)
    limiter.hit("ai", "user:1", policy, cost=3)

    denied = limiter.hit("ai", "user:1", policy, cost=3)
    allowed = limiter.hit("ai", "user:1", policy, cost=2)

    assert denied.allowed is False
    assert denied.remaining == 2
    # Three tokens need one more, which takes one 6-second interval.
    assert 5.0 <= denied.retry_after <= 6.001
    assert allowed.allowed is True
    assert allowed.remaining == 0


@pytest.mark.parametrize("cost", [0, -1, 6, 1.5, True])
def test_hit_rejects_invalid_cost(limiter, cost):
    policy = RateLimitPolicy(10, 60, burst=5)

    with pytest.raises(ValueError, match="invalid cost"):
        limiter.hit("ai", "user:1", policy, cost=cost)


def test_peek_spends_nothing(limiter, redis_client):
    policy = RateLimitPolicy.parse("10/min", burst=5)

    peeks = [limiter.peek("ai", "user:1", policy) for _ in range(100)]
    key_after_peeks = redis_client.exists(limiter.key_for("ai", "user:1"))
    hits = [limiter.hit("ai", "user:1", policy) for _ in range(6)]

    assert all(peek.allowed for peek in peeks)
    assert all(peek.remaining == 5 for peek in peeks)
    assert all(peek.reset_in == 0 for peek in peeks)
    assert key_after_peeks == 0
    assert [hit.allowed for hit in hits] == [True] * 5 + [False]


def test_peek_reports_denial_without_writing(limiter, redis_client):
    policy = RateLimitPolicy.parse("10/min", burst=5)
    for _ in range(5):
        limiter.hit("ai", "user:1", policy)
    key = limiter.key_for("ai", "user:1")
    stored_before = redis_client.get(key)
    ttl_before = redis_client.pttl(key)

    peek = limiter.peek("ai", "user:1", policy)

    assert peek.allowed is False
    assert peek.remaining == 0
    assert 5.0 <= peek.retry_after <= 6.001
    assert redis_client.get(key) == stored_before
    assert redis_client.pttl(key) <= ttl_before


def test_refill_over_time(limiter):
    policy = RateLimitPolicy.parse("20/sec", burst=5)
    for _ in range(5):
        assert limiter.hit("fast", "user:1", policy).allowed

    denied = limiter.hit("fast", "user:1", policy)
    time.sleep(denied.retry_after)
    after_one_interval = limiter.hit("fast", "user:1", policy)
    time.sleep(after_one_interval.reset_in)
    refilled = limiter.peek("fast", "user:1", policy)

    assert denied.allowed is False
    assert 0.0 < denied.retry_after <= 0.051
    assert after_one_interval.allowed is True
    assert refilled.allowed is True
    assert refilled.remaining == 5


def test_reset_refills_bucket(limiter, redis_client):
    policy = RateLimitPolicy.parse("10/min", burst=5)
    limiter.hit("ai", "user:1", policy, cost=5)

    existed = limiter.reset("ai", "user:1")
    after = limiter.hit("ai", "user:1", policy)
    existed_again = limiter.reset("ai", "user:1")
    missing = limiter.reset("ai", "user:1")

    assert existed is True
    assert after.allowed is True
    assert after.remaining == 4
    assert existed_again is True
    assert missing is False


def test_hit_with_decode_responses_client(redis_client, prefix):
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    limiter = RateLimiter(client, prefix=prefix)
    policy = RateLimitPolicy.parse("10/min", burst=1)

    allowed = limiter.hit("ai", "user:1", policy)
    denied = limiter.hit("ai", "user:1", policy)

    assert allowed.allowed is True
    assert denied.allowed is False
    assert 5.0 <= denied.retry_after <= 6.001
    client.close()


# Keys ----------------------------------------------------------------------


def test_key_for_layout(limiter, prefix):
    assert limiter.key_for("ai", "user:42") == f"{prefix}:ai:user:42"
    assert limiter.key_for("api", "ip:1.2.3.4") == f"{prefix}:api:ip:1.2.3.4"


@pytest.mark.parametrize(("kind", "subject"), [("", "user:1"), ("a:b", "c"), ("ai", "")])
def test_key_for_rejects_ambiguous_names(limiter, kind, subject):
    with pytest.raises(ValueError, match="invalid"):
        limiter.key_for(kind, subject)


def test_keys_isolated_per_kind_and_subject(limiter):
    policy = RateLimitPolicy.parse("10/min", burst=2)
    limiter.hit("ai", "user:1", policy, cost=2)

    same = limiter.hit("ai", "user:1", policy)
    other_subject = limiter.hit("ai", "user:2", policy)
    other_kind = limiter.hit("api", "user:1", policy)
    other_ip = limiter.hit("ai", "ip:1.2.3.4", policy)

    assert same.allowed is False
    assert other_subject.allowed is True
    assert other_subject.remaining == 1
    assert other_kind.allowed is True
    assert other_kind.remaining == 1
    assert other_ip.allowed is True


def test_keys_isolated_per_prefix(redis_client, prefix):
    policy = RateLimitPolicy.parse("10/min", burst=1)
    first = RateLimiter(redis_client, prefix=f"{prefix}:one")
    second = RateLimiter(redis_client, prefix=f"{prefix}:two")

    first.hit("ai", "user:1", policy)

    assert first.hit("ai", "user:1", policy).allowed is False
    assert second.hit("ai", "user:1", policy).allowed is True


def test_keys_expire_when_bucket_full(limiter, redis_client):
    policy = RateLimitPolicy.parse("20/sec", burst=2)
    key = limiter.key_for("fast", "user:1")

    decision = limiter.hit("fast", "user:1", policy, cost=2)
    ttl_ms = redis_client.pttl(key)

    assert 0 < ttl_ms <= decision.reset_in * 1000
    time.sleep(decision.reset_in + 0.05)
    assert redis_client.exists(key) == 0


def test_keys_long_policy_ttl(limiter, redis_client):
    policy = RateLimitPolicy.parse("1000/day")
    key = limiter.key_for("api", "user:1")

    limiter.hit("api", "user:1", policy, cost=10)

    # 10 tokens at 86.4 seconds each come back after 864 seconds.
    assert 863_000 <= redis_client.pttl(key) <= 864_000


# Clocks --------------------------------------------------------------------


def test_skewed_host_clocks_agree(redis_client, prefix):
    """Decisions use Redis TIME, so host clocks an hour apart change nothing."""
    policy = RateLimitPolicy.parse("10/min", burst=5)
    ahead = RateLimiter(redis.Redis.from_url(REDIS_URL), prefix=prefix)
    behind = RateLimiter(redis.Redis.from_url(REDIS_URL), prefix=prefix)
    real_time = time.time

    with mock.patch("time.time", lambda: real_time() + 3600), mock.patch(
        "time.time_ns", lambda: int((real_time() + 3600) * 1e9)
    ):
        spent = [ahead.hit("ai", "user:1", policy) for _ in range(5)]
    with mock.patch("time.time", lambda: real_time() - 3600), mock.patch(
        "time.time_ns", lambda: int((real_time() - 3600) * 1e9)
    ):
        seen_behind = behind.hit("ai", "user:1", policy)
        peek_behind = behind.peek("ai", "user:1", policy)
    seen_ahead = ahead.peek("ai", "user:1", policy)

    assert all(decision.allowed for decision in spent)
    assert seen_behind.allowed is False
    assert 5.0 <= seen_behind.retry_after <= 6.001
    assert peek_behind.allowed is False
    assert seen_ahead.allowed is False
    assert abs(seen_ahead.retry_after - seen_behind.retry_after) < 1.0
    ahead.redis.close()
    behind.redis.close()


def test_stored_state_uses_redis_clock(limiter, redis_client):
    policy = RateLimitPolicy.parse("10/min", burst=5)

    with mock.patch("time.time", lambda: 0.0):
        limiter.hit("ai", "user:1", policy)
    seconds, microseconds = redis_client.time()
    server_now_us = seconds * 1_000_000 + microseconds
    stored_tat_us = int(redis_client.get(limiter.key_for("ai", "user:1")))

    # The stored TAT is one 6-second interval after the server's now.
    assert 0 < stored_tat_us - server_now_us <= 6_000_000


# Concurrency ---------------------------------------------------------------


def test_threads_race_admits_exactly_burst(redis_client, prefix):
    burst = 10
    policy = RateLimitPolicy(burst, 86400, burst=burst)
    limiter = RateLimiter(redis.Redis.from_url(REDIS_URL, max_connections=RACERS), prefix=prefix)
    barrier = threading.Barrier(RACERS)
    results = []
    results_lock = threading.Lock()

    def race():
        barrier.wait(timeout=30)
        decisions = [limiter.hit("race", "user:1", policy) for _ in range(3)]
        with results_lock:
            results.extend(decisions)

    threads = [threading.Thread(target=race) for _ in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not any(thread.is_alive() for thread in threads)
    assert len(results) == RACERS * 3
    assert sum(decision.allowed for decision in results) == burst
    assert sorted(d.remaining for d in results if d.allowed) == list(range(burst))
    limiter.redis.close()


def _race_in_process(redis_url, prefix, policy, barrier, admitted):
    client = redis.Redis.from_url(redis_url)
    limiter = RateLimiter(client, prefix=prefix)
    barrier.wait(timeout=60)
    admitted.put(sum(limiter.hit("race", "user:1", policy).allowed for _ in range(3)))
    client.close()


def test_processes_race_admits_exactly_burst(prefix):
    burst = 10
    policy = RateLimitPolicy(burst, 86400, burst=burst)
    # forkserver, not fork: the test process runs threads (Django's event
    # publisher, pytest plugins), and a child forked while one of them held
    # a lock could hang on it.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    barrier = context.Barrier(RACERS)
    admitted = context.Queue()

    # Daemon children are killed at exit even if one hangs, so a failure here
    # cannot keep the test run from ending.
    processes = [
        context.Process(target=_race_in_process, args=(REDIS_URL, prefix, policy, barrier, admitted), daemon=True)
        for _ in range(RACERS)
    ]
    try:
        for process in processes:
            process.start()
        counts = [admitted.get(timeout=60) for _ in range(RACERS)]
        for process in processes:
            process.join(timeout=60)
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()

    assert [process.exitcode for process in processes] == [0] * RACERS
    assert sum(counts) == burst
