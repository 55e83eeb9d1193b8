"""Outbound calls to the Alexa APIs: a deadline that holds, a budget per turn, a breaker per host.

Against the loopback stand-in of the Alexa API, made to hang, drip bytes, or fail.
"""
from __future__ import annotations

import threading
import time

import pytest
from ask_sdk_model.services import ApiClientRequest

from skill.alexa_api import NightlyReminders, ReminderError, TimeoutApiClient
from skill.outbound import Breakers, Budget, OutboundError, endpoint_allowed, http_call
from tests.alexa_api_stub import REMINDERS, AlexaApiStub

TOKEN = "in-session-access-token"


def listing(stub: AlexaApiStub) -> ApiClientRequest:
    return ApiClientRequest(url=stub.endpoint + REMINDERS, method="GET", headers=[("Authorization", f"Bearer {TOKEN}")])


class FakeClock:
    """A monotonic clock the test moves by hand (the breaker's cool-down)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def client(stub: AlexaApiStub, *, budget: float = 3.5, per_call: float = 2.5, breakers: Breakers | None = None
           ) -> NightlyReminders:
    return NightlyReminders(stub.endpoint, TOKEN, TimeoutApiClient(per_call), budget=Budget(budget),
                            breakers=breakers or Breakers(), call_timeout=per_call, allow_loopback=True)


def create(reminders: NightlyReminders) -> str:
    return reminders.create_daily(at="22:30", time_zone="Europe/London", text="Time for magnesium.")


# -- a deadline on the whole call, not on each read ----------------------------------------------------


def test_a_server_that_drips_bytes_is_cut_off_at_the_deadline(alexa_api: AlexaApiStub) -> None:
    # About 150 bytes at one every 50 ms: every read gets a byte long before any per-read timeout,
    # so only a deadline on the whole call can end it; the full answer would take over 7 seconds.
    alexa_api.drip_next(0.05)
    started = time.monotonic()

    with pytest.raises(OutboundError) as caught:
        http_call(listing(alexa_api), 0.5)

    assert caught.value.kind == "timeout"
    assert time.monotonic() - started < 3.5  # generous: half the time the drip needed


def test_a_server_that_never_answers_is_cut_off_at_the_deadline(alexa_api: AlexaApiStub) -> None:
    alexa_api.stall_next()

    with pytest.raises(OutboundError) as caught:
        http_call(listing(alexa_api), 0.3)

    assert caught.value.kind == "timeout"


def test_a_healthy_server_is_answered_in_full(alexa_api: AlexaApiStub) -> None:
    alexa_api.add_reminder(TOKEN)

    answer = http_call(listing(alexa_api), 2.0)

    assert answer.status == 200 and '"totalCount": "1"' in answer.body


def test_plain_http_goes_only_to_loopback() -> None:
    request = ApiClientRequest(url="http://api.amazonalexa.com/v1/alerts/reminders", method="GET", headers=[])

    with pytest.raises(OutboundError) as caught:
        http_call(request, 1.0)

    assert caught.value.kind == "refused"


# -- which apiEndpoint gets a person's token -------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["https://api.amazonalexa.com", "https://api.eu.amazonalexa.com",
                                      "https://api.fe.amazonalexa.com/", "https://API.amazonalexa.com:443"])
def test_alexas_api_hosts_over_https_are_allowed(endpoint: str) -> None:
    assert endpoint_allowed(endpoint)


@pytest.mark.parametrize("endpoint", [
    "http://api.amazonalexa.com",  # not https
    "https://api.amazonalexa.com.evil.example",
    "https://evil.example",
    "https://api.amazonalexa.com:8443",
    "https://user:pw@api.amazonalexa.com",
    "https://api.amazonalexa.com/redirect?to=evil",
    "http://127.0.0.1:8080",  # loopback, but production does not allow it
    "https://[::1",
    "",
])
def test_anything_else_is_refused_in_production(endpoint: str) -> None:
    assert not endpoint_allowed(endpoint)


def test_loopback_is_allowed_only_when_the_setting_opens_it() -> None:
    assert endpoint_allowed("http://127.0.0.1:8080", allow_loopback=True)
    assert endpoint_allowed("http://localhost:8080", allow_loopback=True)
    assert not endpoint_allowed("http://10.0.0.1:8080", allow_loopback=True)


def test_a_token_is_never_sent_to_an_endpoint_that_is_not_allowed(alexa_api: AlexaApiStub) -> None:
    reminders = NightlyReminders(alexa_api.endpoint, TOKEN, breakers=Breakers())  # production: loopback refused

    with pytest.raises(ReminderError) as caught:
        create(reminders)

    assert caught.value.kind == "unavailable"
    assert alexa_api.calls() == []


# -- one budget for every call of a turn -----------------------------------------------------------------


def test_calls_in_one_turn_share_one_budget(alexa_api: AlexaApiStub) -> None:
    alexa_api.stall_all()
    reminders = client(alexa_api, budget=0.6, per_call=2.5)

    assert reminders.time_zone("device-1", fallback="America/Chicago") == "America/Chicago"  # used the budget up
    with pytest.raises(ReminderError) as caught:
        create(reminders)

    assert caught.value.kind == "timeout"
    assert reminders.budget.spent
    assert len(alexa_api.calls()) == 1  # the second call was never sent


def test_one_call_is_capped_so_later_calls_of_the_turn_still_have_time(alexa_api: AlexaApiStub) -> None:
    alexa_api.stall_next()
    reminders = client(alexa_api, budget=3.0, per_call=0.3)

    assert reminders.time_zone("device-1", fallback="America/Chicago") == "America/Chicago"
    create(reminders)

    assert len(alexa_api.reminders) == 1
    assert 2.0 < reminders.budget.remaining() < 3.0


# -- a circuit breaker per host, shared by the process -------------------------------------------------


def test_after_repeated_failures_calls_fail_fast_until_the_cool_down_ends(alexa_api: AlexaApiStub) -> None:
    clock = FakeClock()
    breakers = Breakers(failures=2, cooldown=30, clock=clock)
    alexa_api.stall_all()
    for _ in range(2):  # two people's turns time out on a hung API
        with pytest.raises(ReminderError):
            create(client(alexa_api, per_call=0.2, breakers=breakers))
    (breaker,) = breakers._by_host.values()
    assert breaker.state == "open"

    sent = len(alexa_api.calls())
    with pytest.raises(ReminderError) as caught:
        create(client(alexa_api, breakers=breakers))  # a third person: refused at once, nothing sent
    assert caught.value.kind == "unavailable"
    assert len(alexa_api.calls()) == sent and breaker.refused == 1

    alexa_api.heal()
    clock.now += 31  # the cool-down is over: one trial call goes, and it works
    create(client(alexa_api, breakers=breakers))
    assert breaker.state == "closed" and len(alexa_api.reminders) == 1


def test_server_errors_count_against_the_host_but_refusals_of_one_person_do_not(alexa_api: AlexaApiStub) -> None:
    breakers = Breakers(failures=2)
    for _ in range(3):
        alexa_api.fail_next(403)  # this person has not granted the permission: nothing wrong with the host
        with pytest.raises(ReminderError):
            create(client(alexa_api, breakers=breakers))
    (breaker,) = breakers._by_host.values()
    assert breaker.state == "closed"

    for _ in range(2):
        alexa_api.fail_next(503)
        with pytest.raises(ReminderError):
            create(client(alexa_api, breakers=breakers))
    assert breaker.state == "open"


def test_a_host_with_its_calls_all_in_flight_refuses_more_after_a_short_wait(alexa_api: AlexaApiStub) -> None:
    breakers = Breakers(max_in_flight=1)
    release = alexa_api.hold_next()
    first = threading.Thread(target=lambda: create(client(alexa_api, breakers=breakers)))
    first.start()
    try:
        deadline = time.monotonic() + 5
        while alexa_api.open_calls < 1 and time.monotonic() < deadline:
            time.sleep(0.01)

        with pytest.raises(ReminderError) as caught:
            create(client(alexa_api, breakers=breakers))  # another person, while the first call is held
        assert caught.value.kind == "unavailable"
        assert len(alexa_api.calls("POST")) == 1
    finally:
        release.set()
        first.join(timeout=10)
    assert len(alexa_api.reminders) == 1  # the held call finished normally


def test_each_skill_has_its_own_breakers_and_each_breaker_its_own_lock() -> None:
    from skill.services import Services

    first, second = Services(), Services()
    assert first.breakers is not second.breakers
    assert first.breakers._lock is not second.breakers._lock and first.breakers._by_host is not second.breakers._by_host
    one = first.breakers.for_host("api.amazonalexa.com")
    assert one is first.breakers.for_host("api.amazonalexa.com") and second.breakers._by_host == {}
    assert one._slots is not second.breakers.for_host("api.amazonalexa.com")._slots
