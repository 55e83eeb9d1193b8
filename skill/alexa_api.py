"""A nightly reminder through the Alexa Reminders API, and the device's time zone from the settings API.

Built on ask-sdk's own service clients (ReminderManagementServiceClient, UpsServiceClient). Every
call goes to the ``apiEndpoint`` the request carried, with the request's ``apiAccessToken``, through
an ApiClient that has a timeout: Alexa waits about 8 seconds for a whole answer, so one slow API
call must not use them all up.
"""
from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
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

log = logging.getLogger(__name__)

__all__ = ["ErrorKind", "NightlyReminders", "ReminderError"]

T = TypeVar("T")

DEFAULT_TIMEOUT_S = 3.0
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
_AT = re.compile(r"^(\d{1,2}):(\d{2})$")
# The Reminders API reads scheduledTime as local wall-clock time in timeZoneId: no offset, no "Z".
_LOCAL_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.000"


class ApiTransportError(ApiClientException):
    """The API could not be reached in time: a timeout or a refused/broken connection."""


class TimeoutApiClient(ApiClient):
    """ask-sdk's ApiClient contract over ``requests``, with a timeout (DefaultApiClient has none).

    HTTPS only, except to a loopback host (a local stand-in of the Alexa API in tests), because
    every call carries the person's access token. Redirects are not followed, so calls go only to
    the endpoint the request named.
    """

    def __init__(self, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be a positive number of seconds")
        self.timeout = timeout

    def invoke(self, request: ApiClientRequest) -> ApiClientResponse:
        """Send one request and return its response, whatever the status code."""
        url = request.url or ""
        parts = urlsplit(url)
        if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS):
            raise ApiClientException(f"refusing to send an access token to a non-HTTPS endpoint: {url!r}")
        headers: dict[str, str] = {}
        for name, value in request.headers or []:
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        data: str | None = None
        if request.body is not None:
            data = request.body if isinstance(request.body, str) else json.dumps(request.body)
        try:
            response = requests.request(
                (request.method or "GET").upper(),
                url,
                headers=headers,
                data=data,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise ApiTransportError(f"{request.method} {parts.path}: {type(exc).__name__}") from exc
        except requests.RequestException as exc:
            raise ApiClientException(f"{request.method} {parts.path}: {exc}") from exc
        return ApiClientResponse(
            headers=list(response.headers.items()),
            status_code=response.status_code,
            body=response.text,
        )


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


def _kind_for_status(status: int) -> ErrorKind:
    if status in (401, 403):
        return "no_permission"
    if status == 429:
        return "rate_limited"
    if 400 <= status < 500:
        return "bad_request"
    return "unavailable"


def _is_transport_timeout(exc: BaseException) -> bool:
    """True for a timeout or connection failure from our client or ask-sdk's DefaultApiClient."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ApiTransportError | requests.Timeout | requests.ConnectionError):
            return True
        seen = seen.__cause__
    # DefaultApiClient flattens everything into a message; recognise requests' wording there.
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
    ) -> None:
        self._endpoint = (api_endpoint or "").rstrip("/")
        self._token = access_token or None
        self._api_client = api_client if api_client is not None else TimeoutApiClient()
        # Injected so tests can say what "today" is; aware datetimes only.
        self._clock = clock or (lambda: datetime.now(timezone.utc))

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
            request_time=now_local.replace(tzinfo=None).strftime(_LOCAL_TIME_FORMAT),
            trigger=Trigger(
                object_type=TriggerType.SCHEDULED_ABSOLUTE,
                scheduled_time=scheduled.strftime(_LOCAL_TIME_FORMAT),
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
            raise ReminderError("unavailable", "the Reminders API created nothing (no alertToken came back)")
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

    def delete(self, alert_token: str) -> None:
        """Delete the reminder; one that is already gone counts as deleted."""
        try:
            self._call(
                "delete reminder", lambda f: f.get_reminder_management_service().delete_reminder(alert_token)
            )
        except ReminderError as exc:
            if exc.status != 404:
                raise

    def _call(self, what: str, operation: Callable[[ServiceClientFactory], T]) -> T:
        """Run one service-client call and turn any failure into a ReminderError of the right kind."""
        if self._token is None:
            # No token means the person has not granted the permission; do not call at all.
            raise ReminderError("no_permission", f"{what}: no API access token in the request")
        if not self._endpoint:
            raise ReminderError("unavailable", f"{what}: the request carried no apiEndpoint")
        watched = _Watched(self._api_client)
        factory = ServiceClientFactory(
            ApiConfiguration(
                serializer=DefaultSerializer(),
                api_client=watched,
                authorization_value=self._token,
                api_endpoint=self._endpoint,
            )
        )
        try:
            return operation(factory)
        except Exception as exc:
            raise _classify(what, watched, exc) from exc


def _classify(what: str, watched: _Watched, exc: Exception) -> ReminderError:
    """Decide which kind of failure this was from what happened on the wire."""
    if watched.failure is not None:
        if _is_transport_timeout(watched.failure):
            return ReminderError("timeout", f"{what}: the Alexa API did not answer in time")
        return ReminderError("unavailable", f"{what}: {watched.failure}")
    status = watched.status if watched.status is not None else getattr(exc, "status_code", None)
    if status is None or 200 <= status < 300:
        return ReminderError("unavailable", f"{what}: unreadable answer from the Alexa API ({exc})", status)
    return ReminderError(_kind_for_status(status), f"{what}: the Alexa API answered HTTP {status}", status)


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
