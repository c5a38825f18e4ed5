"""The wait for a request body (``web.guard.bounded``), on a short bound: a body that stops arriving is refused,
but once the body is whole, a wait for the client to leave (a response streaming a file listens so) is not
bounded. The server's own test (tests/web/test_web_slow_clients.py) waits the real ten seconds."""

from __future__ import annotations

import anyio
import pytest

from web import guard


def messages(*given: dict[str, object]):  # type: ignore[no-untyped-def]
    """An ASGI receive that hands out ``given`` in turn, then waits for ever (a client that sends nothing more)."""
    pending = list(given)

    async def receive() -> dict[str, object]:
        if pending:
            return pending.pop(0)
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    return receive


def test_a_body_that_stops_arriving_is_too_slow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guard, "BODY_SECONDS", 0.05)
    receive = guard.bounded({}, messages({"type": "http.request", "body": b"{", "more_body": True}))

    async def read() -> None:
        await receive()
        await receive()

    with pytest.raises(guard.BodyTooSlow):
        anyio.run(read)


@pytest.mark.parametrize("last", [{"type": "http.request", "body": b"", "more_body": False},
                                  {"type": "http.request", "body": b"{}"}])
def test_once_the_body_is_whole_waiting_for_the_client_to_leave_is_not_bounded(monkeypatch: pytest.MonkeyPatch,
                                                                               last: dict[str, object]) -> None:
    monkeypatch.setattr(guard, "BODY_SECONDS", 0.05)
    receive = guard.bounded({}, messages(last))

    async def listen() -> bool:
        assert (await receive())["type"] == "http.request"
        with anyio.move_on_after(0.3) as waited:  # six times the bound: still waiting, no refusal
            await receive()
        return waited.cancelled_caught

    assert anyio.run(listen) is True
