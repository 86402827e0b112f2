"""Backoff for failed attempts, and shedding load: the rules, without a server."""

from __future__ import annotations

from provisioner.web.throttle import (
    Allowance,
    FailureLimiter,
    Homes,
    LoadShedder,
    Throttle,
    place_of,
)

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


def test_failed_says_when_a_key_is_new() -> None:
    limiter = FailureLimiter(RULE)
    assert limiter.failed("k", now=0.0)
    assert not limiter.failed("k", now=1.0)
    assert limiter.failed("k", now=200.0)  # forgotten after 100 s of quiet


def test_a_place_is_an_ipv4_address_or_an_ipv6_64() -> None:
    assert place_of("192.0.2.7") == "192.0.2.7"
    assert (
        place_of("2001:db8:1:2:aaaa::1") == place_of("2001:db8:1:2::ffff") == ("2001:db8:1:2::/64")
    )
    assert place_of("2001:db8:1:3::1") != place_of("2001:db8:1:2::1")
    assert place_of(None) == "-"


def test_homes_move_and_are_counted_and_bounded() -> None:
    homes = Homes(max_devices=3)
    for mac in ("a", "b", "c"):
        homes.succeeded(mac, "nat")
    homes.succeeded("a", "elsewhere")
    assert homes.of("a") == "elsewhere" and homes.count("nat") == 2
    homes.succeeded("d", "nat")  # "b", the least recently seen, goes
    assert homes.of("b") is None and homes.count("nat") == 2 and homes.count("elsewhere") == 1


def test_retries_of_one_misconfigured_phone_count_once_for_its_place() -> None:
    limits = Throttle(per_address=Allowance(free=2, base=1.0, cap=60.0, forget_after=900.0))
    for _ in range(20):
        assert limits.verdict("bad", "nat", right=False, now=0.0) == 0
    assert limits.own_wait("bad", "nat", now=0.0) > 0  # its own backoff, there
    assert limits.own_wait("bad", "elsewhere", now=0.0) == 0
    assert limits.verdict("good", "nat", right=True, now=0.0) == 0


def test_a_place_in_backoff_lets_only_right_passwords_of_phones_at_home_through() -> None:
    limits = Throttle(
        per_address=Allowance(free=2, base=1.0, cap=60.0, forget_after=900.0, per_home=0)
    )
    assert limits.verdict("home", "nat", right=True, now=0.0) == 0
    for mac in ("x", "y", "z"):
        limits.verdict(mac, "nat", right=False, now=0.0)
    wait = limits.verdict("new", "nat", right=True, now=0.0)  # right, but not at home
    assert wait > 0
    assert limits.verdict("w", "nat", right=False, now=0.0) == wait  # the same refusal
    assert limits.verdict("home", "nat", right=True, now=0.0) == 0
    assert limits.verdict("home", "nat", right=False, now=0.0) > 0
