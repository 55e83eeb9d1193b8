"""DynamoDB persistence through ask-sdk's own DynamoDbAdapter, for deployments on AWS Lambda.

Each item carries a ``version`` beside ask-sdk's ``attributes``; ``write`` is a put with a
ConditionExpression on it, so two requests for one person at the same instant cannot overwrite
each other (the loser reads again and re-applies its change).

boto3 and ask_sdk_dynamodb are imported inside the function: a Lambda that keeps its data in
SQLite (or nowhere) never pays for importing boto3 on a cold start.
"""
from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ask_sdk_core.attributes_manager import AbstractPersistenceAdapter
from ask_sdk_core.exceptions import PersistenceException

from skill.profile.sqlite_store import hashed_user_id
from skill.profile.versions import UNVERSIONED, Snapshot, VersionConflict

if TYPE_CHECKING:
    from ask_sdk_dynamodb.adapter import DynamoDbAdapter
    from ask_sdk_model import RequestEnvelope

    from skill.settings import Settings

# Alexa waits about 8 seconds for a whole answer; a store that hangs must fail well before that
# (a read and a write, each with one retry, stay inside about five seconds).
CONNECT_TIMEOUT_S = 1.0
READ_TIMEOUT_S = 1.5
MAX_ATTEMPTS = 2
VERSION = "version"
log = logging.getLogger(__name__)


@contextmanager
def _region_for_import(region: str) -> Iterator[None]:
    """Give the environment a region while ask_sdk_dynamodb.adapter is first imported.

    That module builds a default boto3 resource in a default argument at import time, which fails
    with NoRegionError when neither AWS_DEFAULT_REGION nor a config file names one.
    """
    if os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION"):
        yield
        return
    os.environ["AWS_DEFAULT_REGION"] = region
    try:
        yield
    finally:
        os.environ.pop("AWS_DEFAULT_REGION", None)


def make_dynamodb_adapter(settings: Settings) -> VersionedDynamoDbAdapter:
    """Build the versioned adapter over ask-sdk's DynamoDbAdapter on settings.dynamodb_table, keyed by the hashed user id."""
    import boto3
    from botocore.config import Config

    with _region_for_import(settings.aws_region):
        from ask_sdk_dynamodb.adapter import DynamoDbAdapter

    resource = boto3.resource(
        "dynamodb",
        region_name=settings.aws_region,
        endpoint_url=settings.dynamodb_endpoint,
        config=Config(
            connect_timeout=CONNECT_TIMEOUT_S,
            read_timeout=READ_TIMEOUT_S,
            retries={"max_attempts": MAX_ATTEMPTS, "mode": "standard"},
        ),
    )
    if settings.dynamodb_endpoint is not None:
        # On AWS the table is infrastructure (infrastructure/cfn-deployer/skill-stack.yaml) and the role
        # may not create tables; only a local stand-in (an endpoint override) gets one made here.
        _create_table_if_missing(resource, settings.dynamodb_table)
    return VersionedDynamoDbAdapter(
        DynamoDbAdapter(
            table_name=settings.dynamodb_table,
            partition_key_name="id",
            attribute_name="attributes",
            create_table=False,  # done above, without letting a refusal stop the skill
            partition_keygen=hashed_user_id,
            dynamodb_resource=resource,
        )
    )


def _create_table_if_missing(resource: Any, table_name: str) -> None:
    """Create the table (on demand) if it is not there; a refusal is logged, never raised.

    A deployment's role may rightly not be allowed to create tables (the template made it), and
    a store that is down at start-up must not stop the skill: reads and writes fail one by one
    and every turn is still answered (see skill.services).
    """
    try:
        resource.create_table(
            TableName=table_name,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    except Exception as exc:  # botocore's ClientError or BotoCoreError
        if _error_code(exc) != "ResourceInUseException":  # in use: it is already there, as it should be
            log.warning("could not make sure DynamoDB table %s exists: %s", table_name, _reason(exc))


class VersionedDynamoDbAdapter(AbstractPersistenceAdapter):
    """ask-sdk's DynamoDbAdapter with a version on every item and compare-and-swap writes."""

    def __init__(self, inner: DynamoDbAdapter) -> None:
        self.inner = inner
        self.table = inner.dynamodb.Table(inner.table_name)

    def _key(self, request_envelope: RequestEnvelope) -> dict[str, str]:
        return {self.inner.partition_key_name: self.inner.partition_keygen(request_envelope)}

    def get_attributes(self, request_envelope: RequestEnvelope) -> dict[str, Any]:
        """Return the stored attributes for this person, or {}."""
        return self.read(request_envelope).attributes

    def read(self, request_envelope: RequestEnvelope) -> Snapshot:
        """Return this person's attributes and version; strongly consistent, so a version is never stale."""
        key = self._key(request_envelope)
        try:
            item = self.table.get_item(Key=key, ConsistentRead=True).get("Item")
        except Exception as exc:  # botocore's ClientError and BotoCoreError, table missing, access denied
            raise PersistenceException(f"could not read from DynamoDB: {_reason(exc)}") from exc
        if item is None:
            return Snapshot({}, UNVERSIONED)
        attributes = item.get(self.inner.attribute_name)
        version = item.get(VERSION, UNVERSIONED)
        return Snapshot(dict(attributes) if isinstance(attributes, dict) else {}, int(version))

    def write(self, request_envelope: RequestEnvelope, attributes: dict[str, Any], expected: int) -> int:
        """Put the item only if it is still at version ``expected`` (absent counts as 0)."""
        condition = "attribute_not_exists(#v)" if expected == UNVERSIONED else "#v = :expected"
        values = {} if expected == UNVERSIONED else {"ExpressionAttributeValues": {":expected": expected}}
        item = {**self._key(request_envelope), self.inner.attribute_name: _to_dynamodb(attributes),
                VERSION: expected + 1}
        try:
            self.table.put_item(
                Item=item, ConditionExpression=condition, ExpressionAttributeNames={"#v": VERSION}, **values
            )
        except Exception as exc:
            if _error_code(exc) == "ConditionalCheckFailedException":
                raise VersionConflict(f"item is no longer at version {expected}") from exc
            raise PersistenceException(f"could not write to DynamoDB: {_reason(exc)}") from exc
        return expected + 1

    def save_attributes(self, request_envelope: RequestEnvelope, attributes: dict[str, Any]) -> None:
        """Replace this person's attributes (the ask-sdk contract), still moving the version on."""
        try:
            self.table.update_item(
                Key=self._key(request_envelope),
                UpdateExpression="SET #a = :a ADD #v :one",
                ExpressionAttributeNames={"#a": self.inner.attribute_name, "#v": VERSION},
                ExpressionAttributeValues={":a": _to_dynamodb(attributes), ":one": 1},
            )
        except PersistenceException:
            raise
        except Exception as exc:
            raise PersistenceException(f"could not write to DynamoDB: {_reason(exc)}") from exc

    def delete_attributes(self, request_envelope: RequestEnvelope) -> None:
        """Forget everything stored for this person."""
        self.inner.delete_attributes(request_envelope)

    def forget_connections(self) -> None:
        """Close the client's pooled connections; the next call opens its own (skill.snapstart, around a snapshot).

        The client stays usable, and rebuilding it would cost ~10 ms of every restore.
        """
        close = getattr(self.table.meta.client, "close", None)  # a botocore without close() keeps its pool
        if callable(close):
            close()


def _error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ClientError (without importing botocore)."""
    response = getattr(exc, "response", None)
    error = response.get("Error") if isinstance(response, dict) else None
    return error.get("Code") if isinstance(error, dict) else None


def _reason(exc: BaseException) -> str:
    return _error_code(exc) or type(exc).__name__


def _to_dynamodb(value: Any) -> Any:
    """DynamoDB takes numbers as Decimal only; a float (from a newer schema's field) becomes one."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise PersistenceException("DynamoDB cannot store NaN or infinity")
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {key: _to_dynamodb(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_to_dynamodb(item) for item in value]
    return value
