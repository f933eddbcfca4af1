"""Amazon SQS's JSON protocol on the sandbox's endpoint: boto3's ``sqs`` client against the
local queues (:class:`~sandbox.resources.queues.SQSClient`).

Why it exists: code written for boto3 (a student's producer script, a test suite) should
send and receive through the sandbox unchanged, given ``endpoint_url``. Current SDKs speak
SQS's JSON protocol: ``POST /`` with ``X-Amz-Target: AmazonSQS.<Operation>``, a JSON body
with the API's member names, and errors as ``{"__type": "com.amazonaws.sqs#<Shape>",
"message": ...}`` plus the ``x-amzn-query-error: <legacy code>;Sender`` header. SQS moved
from the query protocol to JSON and promised old callers their old codes, so botocore puts
the header's code in ``ClientError.response["Error"]["Code"]`` (for example
``AWS.SimpleQueueService.NonExistentQueue``) and picks the exception class by the shape
(``client.exceptions.QueueDoesNotExist``): both must be right.

Queue URLs: the local queues answer with AWS-shaped URLs (``https://sqs.REGION.amazonaws.com/
ACCOUNT/NAME``). The SDKs send every request to ``endpoint_url`` whatever the URL says, so
a URL of any host names the queue by its last two path parts; the region is the host's when
it is an SQS host, else the request's.

SQS's older query protocol (``Action=SendMessage``, SDKs before late 2023) is answered by
:mod:`sandbox.http.sqs_query` through the same operations. The operations the local queues
lack (tags, permissions, message move tasks) answer
``AWS.SimpleQueueService.UnsupportedOperation`` naming the operation.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sandbox.http.awsquery import request_id
from sandbox.http.protocol import Request, Response
from sandbox.resources.errors import (
    InvalidParameterValue,
    MissingParameter,
    ServiceError,
    UnsupportedOperation,
)
from sandbox.resources.queues import SQSClient

if TYPE_CHECKING:
    from sandbox._sandbox import Sandbox

__all__ = ["LATER", "OPERATIONS", "client_for", "handle", "jsonable"]

_TARGET = "AmazonSQS."
_CONTENT_TYPE = "application/x-amz-json-1.0"
_QUEUE_PATH = re.compile(r"^/(?P<account>\d{12})/(?P<name>[A-Za-z0-9_.-]{1,80})/?$")
_SQS_HOST = re.compile(r"^sqs\.(?P<region>[a-z0-9-]+)\.amazonaws\.com$")
# botocore's SQS service model (2012-11-05): the operations the sandbox does not implement
LATER = frozenset(
    {
        "AddPermission",
        "CancelMessageMoveTask",
        "ListMessageMoveTasks",
        "ListQueueTags",
        "RemovePermission",
        "StartMessageMoveTask",
        "TagQueue",
        "UntagQueue",
    }
)

Body = Mapping[str, Any]


class _SerializationError(ServiceError):
    """A body that is not the JSON the operation takes; AWS's JSON services answer
    ``SerializationException`` (not one of SQS's own errors, so no legacy code)."""

    service = "sqs"
    code = "SerializationException"


def handle(sb: Sandbox, request: Request) -> Response | None:
    """Answer an SQS JSON-protocol request (``X-Amz-Target: AmazonSQS.*``); None for any
    other request."""
    target = request.headers.get("x-amz-target", "")
    if not target.startswith(_TARGET):
        from sandbox.http import sqs_query  # the older protocol builds on this module

        return sqs_query.handle(sb, request)
    rid = request_id()
    operation = target[len(_TARGET) :]
    try:
        call = OPERATIONS.get(operation)
        if call is None:
            if operation in LATER:
                raise UnsupportedOperation(
                    f"The sandbox does not implement SQS's {operation} operation yet."
                )
            return _unknown(operation, rid)
        body = _body(request)
        answer = call(client_for(sb, request), body, request)
    except ServiceError as error:
        return _error(error, rid)
    return Response(200, json.dumps(jsonable(answer)).encode(), _headers(rid))


# the operations --------------------------------------------------------------------------------
def _create_queue(client: SQSClient, body: Body, request: Request) -> Any:
    if body.get("tags"):
        raise UnsupportedOperation("Queue tags are not supported by the sandbox yet.")
    return client.create_queue(_str(body, "QueueName", required=True), _str_map(body, "Attributes"))


def _get_queue_url(client: SQSClient, body: Body, request: Request) -> Any:
    return client.get_queue_url(
        _str(body, "QueueName", required=True), _str(body, "QueueOwnerAWSAccountId")
    )


def _list_queues(client: SQSClient, body: Body, request: Request) -> Any:
    urls: list[str] = client.list_queues(_str(body, "QueueNamePrefix")).get("QueueUrls", [])
    max_results = _int(body, "MaxResults")
    if max_results is not None and not 1 <= max_results <= 1000:
        raise InvalidParameterValue(
            f"Value {max_results} for parameter MaxResults is invalid. "
            "Reason: MaxResults must be an integer between 1 and 1000."
        )
    token = _str(body, "NextToken")
    if token is not None:
        after = _decode_token(token)
        urls = [u for u in urls if u > after]
    page = urls if max_results is None else urls[:max_results]
    answer: dict[str, Any] = {"QueueUrls": page} if page else {}
    if len(page) < len(urls):
        answer["NextToken"] = base64.urlsafe_b64encode(page[-1].encode()).decode()
    return answer


def _delete_queue(client: SQSClient, body: Body, request: Request) -> Any:
    client.delete_queue(_queue(body, request))
    return {}


def _get_queue_attributes(client: SQSClient, body: Body, request: Request) -> Any:
    return client.get_queue_attributes(_queue(body, request), _str_list(body, "AttributeNames"))


def _set_queue_attributes(client: SQSClient, body: Body, request: Request) -> Any:
    attributes = _str_map(body, "Attributes")
    if attributes is None:
        raise MissingParameter("The request must contain the parameter Attributes.")
    client.set_queue_attributes(_queue(body, request), attributes)
    return {}


def _purge_queue(client: SQSClient, body: Body, request: Request) -> Any:
    client.purge_queue(_queue(body, request))
    return {}


def _send_message(client: SQSClient, body: Body, request: Request) -> Any:
    _refuse_system_attributes(body)
    return client.send_message(
        _queue(body, request),
        _str(body, "MessageBody", required=True),
        message_attributes=_message_attributes(body.get("MessageAttributes")),
        delay_seconds=_int(body, "DelaySeconds"),
        message_group_id=_str(body, "MessageGroupId"),
        message_deduplication_id=_str(body, "MessageDeduplicationId"),
    )


def _send_message_batch(client: SQSClient, body: Body, request: Request) -> Any:
    entries = []
    for entry in _entries(body):
        _refuse_system_attributes(entry)
        entries.append(
            {**entry, "MessageAttributes": _message_attributes(entry.get("MessageAttributes"))}
        )
    return client.send_message_batch(_queue(body, request), entries)


def _receive_message(client: SQSClient, body: Body, request: Request) -> Any:
    maximum = _int(body, "MaxNumberOfMessages")
    return client.receive_message(
        _queue(body, request),
        max_number_of_messages=1 if maximum is None else maximum,
        visibility_timeout=_int(body, "VisibilityTimeout"),
        wait_time_seconds=_int(body, "WaitTimeSeconds"),
        attribute_names=_str_list(body, "AttributeNames"),
        message_attribute_names=_str_list(body, "MessageAttributeNames"),
        message_system_attribute_names=_str_list(body, "MessageSystemAttributeNames"),
    )


def _delete_message(client: SQSClient, body: Body, request: Request) -> Any:
    client.delete_message(_queue(body, request), _str(body, "ReceiptHandle", required=True))
    return {}


def _delete_message_batch(client: SQSClient, body: Body, request: Request) -> Any:
    return client.delete_message_batch(_queue(body, request), _entries(body))


def _change_message_visibility(client: SQSClient, body: Body, request: Request) -> Any:
    timeout = _int(body, "VisibilityTimeout")
    if timeout is None:
        raise MissingParameter("The request must contain the parameter VisibilityTimeout.")
    client.change_message_visibility(
        _queue(body, request), _str(body, "ReceiptHandle", required=True), timeout
    )
    return {}


def _change_message_visibility_batch(client: SQSClient, body: Body, request: Request) -> Any:
    return client.change_message_visibility_batch(_queue(body, request), _entries(body))


def _list_dead_letter_source_queues(client: SQSClient, body: Body, request: Request) -> Any:
    return client.list_dead_letter_source_queues(
        _queue(body, request), _str(body, "NextToken"), _int(body, "MaxResults")
    )


OPERATIONS: dict[str, Callable[[SQSClient, Body, Request], Any]] = {
    "CreateQueue": _create_queue,
    "GetQueueUrl": _get_queue_url,
    "ListQueues": _list_queues,
    "DeleteQueue": _delete_queue,
    "GetQueueAttributes": _get_queue_attributes,
    "SetQueueAttributes": _set_queue_attributes,
    "PurgeQueue": _purge_queue,
    "SendMessage": _send_message,
    "SendMessageBatch": _send_message_batch,
    "ReceiveMessage": _receive_message,
    "DeleteMessage": _delete_message,
    "DeleteMessageBatch": _delete_message_batch,
    "ChangeMessageVisibility": _change_message_visibility,
    "ChangeMessageVisibilityBatch": _change_message_visibility_batch,
    "ListDeadLetterSourceQueues": _list_dead_letter_source_queues,
}
"""The operations served, by ``X-Amz-Target`` name (and query ``Action``)."""


# reading the request ---------------------------------------------------------------------------
def client_for(sb: Sandbox, request: Request) -> SQSClient:
    """The local SQS of the request's account and region (from its credential scope)."""
    if (request.account_id, request.region) == (sb.account_id, sb.region):
        return sb.sqs
    shared = sb._shared
    return SQSClient(shared.db, shared.clock, request.account_id, request.region)


def _body(request: Request) -> Body:
    if not request.body.strip():
        return {}
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise _SerializationError("Start of structure or map found where not expected.") from None
    if not isinstance(body, dict):
        raise _SerializationError("Start of structure or map found where not expected.")
    return body


def _queue(body: Body, request: Request) -> str:
    """The body's QueueUrl as the local queues know it: AWS's URL of the queue its last two
    path parts name (any host), or an ARN as given."""
    value: str = _str(body, "QueueUrl", required=True)
    parts = urlsplit(value)
    match = _QUEUE_PATH.match(parts.path) if parts.scheme in ("http", "https") else None
    if match is None:
        return value  # the local queue answers InvalidAddress (or takes an ARN)
    host = _SQS_HOST.match(parts.hostname or "")
    region = host["region"] if host else request.region
    return f"https://sqs.{region}.amazonaws.com/{match['account']}/{match['name']}"


def _str(body: Body, member: str, *, required: bool = False) -> Any:
    value = body.get(member)
    if value is None:
        if required:
            raise MissingParameter(f"The request must contain the parameter {member}.")
        return None
    if not isinstance(value, str):
        raise _SerializationError(f"Expected a string for {member}.")
    return value


def _int(body: Body, member: str) -> int | None:
    value = body.get(member)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _SerializationError(f"Expected an integer for {member}.")
    return value


def _str_list(body: Body, member: str) -> list[str] | None:
    value = body.get(member)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _SerializationError(f"Expected a list of strings for {member}.")
    return value


def _str_map(body: Body, member: str) -> dict[str, str] | None:
    value = body.get(member)
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise _SerializationError(f"Expected a map of strings for {member}.")
    return value


def _entries(body: Body) -> list[dict[str, Any]]:
    value = body.get("Entries")
    if value is None:
        return []  # the local queue answers EmptyBatchRequest
    if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
        raise _SerializationError("Expected a list of structures for Entries.")
    return value


def _message_attributes(value: object) -> dict[str, dict[str, Any]] | None:
    """Message attributes from JSON (``BinaryValue`` base64) to the local queue's (bytes)."""
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(a, dict) for a in value.values()):
        raise _SerializationError("Expected a map of structures for MessageAttributes.")
    converted = {}
    for name, attribute in value.items():
        attribute = dict(attribute)
        if "BinaryValue" in attribute:
            try:
                attribute["BinaryValue"] = base64.b64decode(attribute["BinaryValue"], validate=True)
            except (binascii.Error, TypeError, ValueError):
                raise _SerializationError("Invalid base64 in BinaryValue.") from None
        converted[name] = attribute
    return converted


def _refuse_system_attributes(body: Body) -> None:
    if body.get("MessageSystemAttributes"):
        raise UnsupportedOperation(
            "MessageSystemAttributes (AWSTraceHeader) are not supported by the sandbox yet."
        )


def _decode_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        raise InvalidParameterValue("Invalid NextToken value.") from None


# writing the answer ----------------------------------------------------------------------------
def _headers(rid: str) -> dict[str, str]:
    return {"Content-Type": _CONTENT_TYPE, "x-amzn-RequestId": rid}


def jsonable(value: Any) -> Any:
    """An answer with bytes (binary message attributes) as base64, as JSON carries blobs."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, Mapping):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def _error(error: ServiceError, rid: str) -> Response:
    """SQS's JSON error: the shape in ``__type``, the legacy query code in the header."""
    headers = _headers(rid)
    if isinstance(error, _SerializationError):
        kind = "com.amazon.coral.service#SerializationException"
    else:
        kind = f"com.amazonaws.sqs#{type(error).__name__}"
        headers["x-amzn-query-error"] = f"{error.code};Sender"
    body = {"__type": kind, "message": error.message}
    return Response(error.status_code, json.dumps(body).encode(), headers)


def _unknown(operation: str, rid: str) -> Response:
    body = {
        "__type": "com.amazon.coral.service#UnknownOperationException",
        "message": f"SQS has no operation {operation[:100]!r}.",
    }
    return Response(400, json.dumps(body).encode(), _headers(rid))
