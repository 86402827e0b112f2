"""Backoff for failed attempts, and shedding load: the rules, without a server."""

from __future__ import annotations

from provisioner.web.throttle import Allowance, FailureLimiter, LoadShedder

RULE = Allowance(free=3, base=1.0, cap=8.0, forget_after=100.0)


def test_backoff_starts_after_the_free_failures_and_doubles_up_to_the_cap() -> None:
    limiter = FailureLimiter(RULE)
    for _ in range(2):
        limiter.failed("k", now=0.0)
    assert limiter.retry_after("k", now=0.0) == 0
    waits = []
    for _ in range(6):
        limiter.failed("k", now=0.0)
        waits.append(limiter.retry_after("k", now=0.0))
    assert waits == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert limiter.retry_after("other", now=0.0) == 0


def test_a_quiet_key_is_forgotten_and_the_table_is_bounded() -> None:
    limiter = FailureLimiter(RULE, max_keys=10)
    for _ in range(5):
        limiter.failed("k", now=0.0)
    assert limiter.retry_after("k", now=101.0) == 0
    for n in range(100):
        limiter.failed(f"mac{n}", now=0.0)
    assert len(limiter._keys) == 10


def test_the_shedder_refuses_past_its_limit_with_a_jittered_retry() -> None:
    shedder = LoadShedder(limit=2, retry_after=(5, 30))
    assert shedder.try_enter() and shedder.try_enter()
    assert not shedder.try_enter()
    assert 5 <= shedder.retry_after() <= 30
    shedder.leave()
    assert shedder.try_enter()
