"""The limit on failed authentications (``web.auth``), on a clock the test moves: the bucket, its refill,
its debt, the bounded table; how a client's address is counted and how the bearer header is read."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers

from web.auth import FailureLimiter, bearer_token, client_key


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_address_may_fail_a_burst_then_one_more_each_refill_and_others_are_untouched() -> None:
    clock = Clock()
    limiter = FailureLimiter(burst=3, refill_seconds=6, clock=clock)
    for _ in range(3):
        assert limiter.wait("a") == 0
        limiter.failed("a")
    assert limiter.wait("a") == pytest.approx(6)
    assert limiter.wait("b") == 0
    clock.now += 5
    assert limiter.wait("a") == pytest.approx(1)
    clock.now += 1
    assert limiter.wait("a") == 0
    limiter.failed("a")
    assert limiter.wait("a") == pytest.approx(6)


def test_failures_let_in_together_leave_a_debt_that_lengthens_the_wait_within_a_bound() -> None:
    clock = Clock()
    limiter = FailureLimiter(burst=2, refill_seconds=10, clock=clock)
    for _ in range(10):
        limiter.failed("a")
    assert limiter.wait("a") == pytest.approx((1 + 2) * 10)  # the debt stops at minus the burst


def test_the_table_is_bounded_and_keeps_only_addresses_with_failures_to_remember() -> None:
    clock = Clock()
    limiter = FailureLimiter(burst=2, refill_seconds=1, size=100, clock=clock)
    for n in range(1000):
        limiter.wait(f"good-{n}")
    assert len(limiter) == 0
    for n in range(1000):
        limiter.failed(f"bad-{n}")
        limiter.failed(f"bad-{n}")
    assert len(limiter) == 100
    assert limiter.wait("bad-999") > 0 and limiter.wait("bad-0") == 0  # the oldest were forgotten first
    clock.now += 2
    assert limiter.wait("bad-999") == 0 and len(limiter) == 99  # refilled: forgotten


@pytest.mark.parametrize("client, key", [
    (("127.0.0.2", 5000), "127.0.0.2"),
    (("2001:db8:1:2:aaaa::1", 5000), "2001:db8:1:2::/64"),
    (("2001:db8:1:2:bbbb::9", 5000), "2001:db8:1:2::/64"),
    (("::ffff:10.1.2.3", 5000), "10.1.2.3"),
    (None, "unknown"),
    (("some-unix-socket", 0), "some-unix-socket"),
])
def test_a_client_is_counted_by_its_address_and_an_ipv6_one_by_its_64(client: tuple[str, int] | None,
                                                                      key: str) -> None:
    assert client_key({"client": client}) == key


@pytest.mark.parametrize("header, token", [
    (None, None), ("Bearer abc", "abc"), ("bearer  abc ", "abc"), ("BEARER abc", "abc"), ("Bearer", ""),
    ("Basic dXNlcjpwYXNz", ""), ("abc", ""), ("Bearer a b", "a b"),
])
def test_the_token_is_read_from_the_authorization_header_only(header: str | None, token: str | None) -> None:
    headers = Headers(raw=[(b"authorization", header.encode())] if header is not None else [])
    assert bearer_token(headers) == token
