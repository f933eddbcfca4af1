"""Fixtures of the endpoint tests (no tests here): a served sandbox, an unmodified boto3 client."""

from __future__ import annotations

import base64
import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sandbox import Sandbox
from sandbox.http.server import EndpointServer

ROLE = "arn:aws:iam::123456789012:role/r"
ECHO = "def lambda_handler(event, context):\n    print('hi')\n    return {'echo': event}\n"


def zipped(source: str = ECHO, name: str = "lambda_function.py") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, source)
    return buffer.getvalue()


def client(url: str, service: str = "lambda", key: str = "x") -> Any:
    """What a student writes, plus no retries (a 429 must surface at once)."""
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key="x",
        config=Config(retries={"total_max_attempts": 1}, read_timeout=30, connect_timeout=5),
    )


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    response = exc.value.response
    return (
        response["Error"]["Code"],
        response["Error"]["Message"],
        response["ResponseMetadata"]["HTTPStatusCode"],
    )


def create(lam: Any, name: str = "fn", source: str = ECHO, **extra: Any) -> dict[str, Any]:
    return lam.create_function(  # type: ignore[no-any-return]
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="lambda_function.lambda_handler",
        Code={"ZipFile": zipped(source)},
        **extra,
    )


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@contextmanager
def serving(sb: Sandbox) -> Iterator[EndpointServer]:
    """The sandbox's endpoint on a free loopback port, closed afterwards."""
    endpoint = sb.serve(port=0)
    try:
        yield endpoint
    finally:
        endpoint.close()
