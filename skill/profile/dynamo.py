"""DynamoDB persistence through ask-sdk's own DynamoDbAdapter, for deployments on AWS Lambda.

boto3 and ask_sdk_dynamodb are imported inside the function: a Lambda that keeps its data in
SQLite (or nowhere) never pays for importing boto3 on a cold start.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from skill.profile.sqlite_store import hashed_user_id

if TYPE_CHECKING:
    from ask_sdk_core.attributes_manager import AbstractPersistenceAdapter

    from skill.settings import Settings

# Alexa waits about 8 seconds for a whole answer; a store that hangs must fail well before that.
CONNECT_TIMEOUT_S = 2.0
READ_TIMEOUT_S = 3.0
MAX_ATTEMPTS = 2


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


def make_dynamodb_adapter(settings: Settings) -> AbstractPersistenceAdapter:
    """Build ask-sdk's DynamoDbAdapter on settings.dynamodb_table, keyed by the hashed user id."""
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
    return DynamoDbAdapter(
        table_name=settings.dynamodb_table,
        partition_key_name="id",
        attribute_name="attributes",
        # On AWS the table is infrastructure (infrastructure/cfn-deployer/skill-stack.yaml) and the
        # role may not create tables; only a local stand-in (an endpoint override) gets one made here.
        create_table=settings.dynamodb_endpoint is not None,
        partition_keygen=hashed_user_id,
        dynamodb_resource=resource,
    )
