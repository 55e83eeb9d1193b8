"""A nightly reminder through the Alexa Reminders API, and the device's time zone from the settings API.

Built on ask-sdk's own service clients (ReminderManagementServiceClient, UpsServiceClient), except
for listing reminders, whose answer ask-sdk-model cannot read (it is parsed here). Every call goes
to the ``apiEndpoint`` the request carried, and only when that is one of Alexa's API hosts over
https; it draws on the turn's time budget and passes the host's circuit breaker (skill.outbound),
so a slow Alexa API costs one turn at most a few seconds and cannot starve other people's turns.
"""
from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ask_sdk_core.exceptions import ApiClientException
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model.services import (
    ApiClient,
    ApiClientRequest,
    ApiClientResponse,
    ApiConfiguration,
    ServiceClientFactory,
)
from ask_sdk_model.services.reminder_management import (
    AlertInfo,
    PushNotification,
    PushNotificationStatus,
    Recurrence,
    ReminderRequest,
    SpokenInfo,
    SpokenText,
    Trigger,
    TriggerType,
)

from skill.alexa_errors import ErrorKind, ReminderError
from skill.outbound import Breakers, Budget, OutboundError, endpoint_allowed, guarded_call, http_call

log = logging.getLogger(__name__)

T = TypeVar("T")

# The most one call may take; the turn's budget (3.5 s by default) bounds all of them together.
DEFAULT_TIMEOUT_S = 2.5
DEFAULT_BUDGET_S = 3.5
REMINDERS_PATH = "/v1/alerts/reminders"
_AT = re.compile(r"^(\d{1,2}):(\d{2})$")
# The Reminders API reads scheduledTime as local wall-clock time in timeZoneId: no offset, no "Z".
_LOCAL_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.000"
# Breakers for NightlyReminders built without any (scripts, tests): still one per host per process.
_PROCESS_BREAKERS = Breakers()


class ApiTransportError(ApiClientException):
    """The API could not be reached in time: a timeout, a spent budget or a broken connection.

    ``sent``: the request may have reached the API, so it may have done its work all the same.
    """

    def __init__(self, message: str, *, sent: bool = False) -> None:
        super().__init__(message)
        self.sent = sent


class ApiPausedError(ApiClientException):
    """The call was not made: the host's circuit is open or too many calls to it are out."""


@dataclass(frozen=True, slots=True)
class SkillReminder:
    """One reminder this skill made for this person, as the Reminders API lists it."""

    token: str
    active: bool  # "ON"; a finished one-off reminder is "COMPLETED"


class TimeoutApiClient(ApiClient):
    """ask-sdk's ApiClient contract with a total-time timeout per call (DefaultApiClient has none).

    The timeout holds against a server that drips bytes (skill.outbound.http_call). HTTPS only,
    except to a loopback host, because every call carries the person's access token; redirects
    are not followed, so calls go only to the endpoint the request named.
    """

    def __init__(self, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be a positive number of seconds")
        self.timeout = timeout

    def invoke(self, request: ApiClientRequest) -> ApiClientResponse:
        """Send one request and return its response, whatever the status code."""
        return self.invoke_within(request, self.timeout)

    def invoke_within(self, request: ApiClientRequest, seconds: float) -> ApiClientResponse:
        """Send one request, giving it at most ``seconds`` (and never more than this client's timeout)."""
        try:
            answer = http_call(request, min(seconds, self.timeout))
        except OutboundError as exc:
            if exc.kind == "refused":
                raise ApiClientException(str(exc)) from exc
            raise ApiTransportError(str(exc), sent=exc.sent) from exc
        return ApiClientResponse(headers=answer.headers, status_code=answer.status, body=answer.body)


class _Guarded(ApiClient):
    """Sends each call within the turn's budget and through the host's circuit breaker."""

    def __init__(self, inner: ApiClient, budget: Budget, breakers: Breakers, per_call: float) -> None:
        self.inner, self.budget, self.breakers, self.per_call = inner, budget, breakers, per_call

    def _send(self, request: ApiClientRequest, seconds: float) -> ApiClientResponse:
        within = getattr(self.inner, "invoke_within", None)
        # An ApiClient without a deadline of its own (injected by a test) still gets the budget
        # checked before it is called and the breaker around it.
        return within(request, seconds) if callable(within) else self.inner.invoke(request)

    def invoke(self, request: ApiClientRequest) -> ApiClientResponse:
        try:
            return guarded_call(request, self._send, budget=self.budget, breakers=self.breakers,
                                per_call=self.per_call)
        except OutboundError as exc:
            if exc.kind == "circuit_open":
                raise ApiPausedError(str(exc)) from exc
            raise ApiTransportError(str(exc), sent=exc.sent) from exc


class _Watched(ApiClient):
    """Passes calls through and remembers the status or the transport failure.

    The service clients turn every transport failure into a "500" ServiceException and fail to
    parse non-JSON error bodies; what actually happened on the wire is kept here instead.
    """

    def __init__(self, inner: ApiClient) -> None:
        self.inner = inner
        self.status: int | None = None
        self.failure: Exception | None = None

    def invoke(self, request: ApiClientRequest) -> ApiClientResponse:
        try:
            response = self.inner.invoke(request)
        except Exception as exc:
            self.failure = exc
            raise
        self.status = response.status_code
        return response


def _maybe_sent(exc: BaseException) -> bool:
    """Whether a transport failure came after the request may have reached the API.

    Our client knows (it marks the moment it starts writing); from another ApiClient only a refused
    connection is sure to have sent nothing.
    """
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ApiTransportError):
            return seen.sent
        if isinstance(seen, ConnectionRefusedError):
            return False
        seen = seen.__cause__
    return True


def _kind_for_status(status: int) -> ErrorKind:
    if status in (401, 403):
        return "no_permission"
    if status == 429:
        return "rate_limited"
    if 400 <= status < 500:
        return "bad_request"
    return "unavailable"


def _is_transport_timeout(exc: BaseException) -> bool:
    """True for a timeout, spent budget or connection failure, from our client or another ApiClient."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ApiPausedError):
            return False
        if isinstance(seen, ApiTransportError | TimeoutError | ConnectionError):
            return True
        seen = seen.__cause__
    # ask-sdk's DefaultApiClient flattens everything into a message; recognise requests' wording there.
    text = str(exc).lower()
    return "timed out" in text or "timeout" in text or "connection" in text


class NightlyReminders:
    """The Alexa APIs the wind-down routine uses: the device's time zone and a daily reminder."""

    def __init__(
        self,
        api_endpoint: str,
        access_token: str | None,
        api_client: ApiClient | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        budget: Budget | None = None,
        breakers: Breakers | None = None,
        call_timeout: float = DEFAULT_TIMEOUT_S,
        allow_loopback: bool = False,
    ) -> None:
        self._endpoint = (api_endpoint or "").strip().rstrip("/")
        self._token = access_token or None
        self._api_client = api_client if api_client is not None else TimeoutApiClient(call_timeout)
        # Injected so tests can say what "today" is; aware datetimes only.
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        # One turn's calls share one budget: the skill passes the turn's; alone, this object is a turn.
        self.budget = budget if budget is not None else Budget(DEFAULT_BUDGET_S)
        self._breakers = breakers if breakers is not None else _PROCESS_BREAKERS
        self._call_timeout = call_timeout
        self._allow_loopback = allow_loopback

    def time_zone(self, device_id: str, fallback: str = "America/New_York") -> str:
        """Return the device's IANA time zone, or ``fallback`` if it cannot be had for any reason."""
        if not device_id:
            return fallback
        try:
            zone = self._call("time zone", lambda f: f.get_ups_service().get_system_time_zone(device_id))
        except ReminderError as exc:
            log.info("device time zone unavailable (%s); using %s", exc.kind, fallback)
            return fallback
        if not isinstance(zone, str) or not _is_zone(zone):
            log.info("device time zone was not an IANA name; using %s", fallback)
            return fallback
        return zone

    def create_daily(self, *, at: str, time_zone: str, text: str, locale: str = "en-US") -> str:
        """Create a reminder every day at ``at`` (HH:MM, local to ``time_zone``); return its alertToken."""
        hour, minute = _parse_at(at)
        if not _is_zone(time_zone):
            raise ReminderError("bad_request", f"{time_zone!r} is not an IANA time zone name")
        if not text or not text.strip():
            raise ReminderError("bad_request", "a reminder needs something to say")
        now_local = self._clock().astimezone(ZoneInfo(time_zone))
        scheduled = now_local.replace(hour=hour, minute=minute, second=0, microsecond=0, tzinfo=None)
        reminder = ReminderRequest(
            # Strings, not datetimes: the SDK would serialise a datetime with its offset, and the API reads
            # scheduledTime as local wall-clock time in timeZoneId (see _LOCAL_TIME_FORMAT).
            request_time=now_local.replace(tzinfo=None).strftime(_LOCAL_TIME_FORMAT),  # type: ignore[arg-type]
            trigger=Trigger(
                object_type=TriggerType.SCHEDULED_ABSOLUTE,
                scheduled_time=scheduled.strftime(_LOCAL_TIME_FORMAT),  # type: ignore[arg-type]
                time_zone_id=time_zone,
                recurrence=Recurrence(
                    recurrence_rules=[f"FREQ=DAILY;BYHOUR={hour};BYMINUTE={minute};BYSECOND=0;INTERVAL=1;"]
                ),
            ),
            alert_info=AlertInfo(spoken_info=SpokenInfo(content=[SpokenText(locale=locale, text=text.strip())])),
            push_notification=PushNotification(status=PushNotificationStatus.ENABLED),
        )
        response = self._call(
            "create reminder", lambda f: f.get_reminder_management_service().create_reminder(reminder)
        )
        token = getattr(response, "alert_token", None)
        if not token:
            # A success without its id: the reminder may well be there, unnamed.
            raise ReminderError("unavailable", "the Reminders API answered without an alertToken", maybe_done=True)
        return str(token)

    def exists(self, alert_token: str) -> bool:
        """Tell whether the reminder is still there (a person can delete it in the Alexa app)."""
        try:
            self._call("get reminder", lambda f: f.get_reminder_management_service().get_reminder(alert_token))
        except ReminderError as exc:
            if exc.status == 404:
                return False
            # ask-sdk-model cannot deserialize a GetReminderResponse that has alertInfo (its AlertInfo
            # names a module, alert_info_spoken_info, that is not shipped), so a real 200 arrives
            # here as "unreadable". The status alone answers the question.
            if exc.status is not None and 200 <= exc.status < 300:
                return True
            raise
        return True

    def skill_reminders(self) -> list[SkillReminder]:
        """Every reminder this skill has made for this person, read from the Reminders API itself.

        The API lists only the calling skill's reminders, so this finds ones whose ids were never
        stored (a create that timed out after it succeeded, a save that lost a race).
        """
        def list_them(client: ApiClient) -> Any:
            request = ApiClientRequest(
                headers=[("Authorization", f"Bearer {self._token}"), ("Accept", "application/json")],
                method="GET",
                url=self._endpoint + REMINDERS_PATH,
            )
            response = client.invoke(request)
            if not 200 <= response.status_code < 300:
                raise ApiClientException(f"HTTP {response.status_code}")
            # ask-sdk-model cannot deserialise this answer (see exists()), so read the JSON here.
            return json.loads(response.body or "{}")

        body = self._call("list reminders", list_them, raw=True)
        alerts = body.get("alerts") if isinstance(body, dict) else None
        found: list[SkillReminder] = []
        for alert in alerts if isinstance(alerts, list) else []:
            token = alert.get("alertToken") if isinstance(alert, dict) else None
            if isinstance(token, str) and token.strip():
                found.append(SkillReminder(token, str(alert.get("status") or "ON").upper() != "COMPLETED"))
        return found

    def delete(self, alert_token: str) -> None:
        """Delete the reminder; one that is already gone counts as deleted."""
        try:
            self._call(
                "delete reminder", lambda f: f.get_reminder_management_service().delete_reminder(alert_token)
            )
        except ReminderError as exc:
            if exc.status != 404:
                raise

    def _call(self, what: str, operation: Callable[[Any], T], *, raw: bool = False) -> T:
        """Run one call (on a service-client factory, or with ``raw`` on the ApiClient itself) and
        turn any failure into a ReminderError of the right kind."""
        if self._token is None:
            # No token means the person has not granted the permission; do not call at all.
            raise ReminderError("no_permission", f"{what}: no API access token in the request")
        if not self._endpoint:
            raise ReminderError("unavailable", f"{what}: the request carried no apiEndpoint")
        if not endpoint_allowed(self._endpoint, allow_loopback=self._allow_loopback):
            # Never send a person's token to a host that is not Alexa's, whatever the request says.
            log.warning("%s: refused an apiEndpoint that is not an Alexa API host over https", what)
            raise ReminderError("unavailable", f"{what}: the apiEndpoint is not an Alexa API host")
        watched = _Watched(_Guarded(self._api_client, self.budget, self._breakers, self._call_timeout))
        target: Any = watched
        if not raw:
            target = ServiceClientFactory(
                ApiConfiguration(
                    serializer=DefaultSerializer(),
                    api_client=watched,
                    authorization_value=self._token,
                    api_endpoint=self._endpoint,
                )
            )
        try:
            return operation(target)
        except Exception as exc:
            raise _classify(what, watched, exc) from exc


def _classify(what: str, watched: _Watched, exc: Exception) -> ReminderError:
    """Decide which kind of failure this was from what happened on the wire."""
    if watched.failure is not None:
        if _is_transport_timeout(watched.failure):
            return ReminderError("timeout", f"{what}: the Alexa API did not answer in time",
                                 maybe_done=_maybe_sent(watched.failure))
        return ReminderError("unavailable", f"{what}: {watched.failure}")
    status = watched.status if watched.status is not None else getattr(exc, "status_code", None)
    if status is None or 200 <= status < 300:
        # It said yes in a way that could not be read: the work may be done.
        return ReminderError("unavailable", f"{what}: unreadable answer from the Alexa API ({exc})", status,
                             maybe_done=status is not None)
    # A 500 (or a gateway's 502 or 504) can come after the work was done; 503, 429 and 4xx refuse it.
    return ReminderError(_kind_for_status(status), f"{what}: the Alexa API answered HTTP {status}", status,
                         maybe_done=status in (500, 502, 504))


def _parse_at(at: str) -> tuple[int, int]:
    match = _AT.match(at.strip()) if isinstance(at, str) else None
    if match is None or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ReminderError("bad_request", f"a reminder time must look like HH:MM (24-hour), not {at!r}")
    return int(match.group(1)), int(match.group(2))


def _is_zone(name: Any) -> bool:
    if not isinstance(name, str) or not name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
