"""Amazon SQS's older query protocol on the sandbox's endpoint, for SDKs from before SQS moved
to JSON (boto3/botocore before late 2023, older AWS CLIs and other languages' SDKs).

Why it exists: code pinned to an older SDK should reach the local queues too. The query
protocol sends a form (``Action=SendMessage&Version=2012-11-05&QueueUrl=...``), often to the
queue's own path (``POST /ACCOUNT/NAME``), with lists and maps flattened
(``AttributeName.1``, ``Attribute.1.Name``/``Attribute.1.Value``,
``MessageAttribute.1.Value.StringValue``, ``SendMessageBatchRequestEntry.1.Id``), and
answers in XML (``<SendMessageResponse><SendMessageResult>...``); errors are
``<ErrorResponse><Error><Type>Sender</Type><Code>AWS.SimpleQueueService.NonExistentQueue``.

The parameters become the JSON protocol's body and run through the same operations
(:data:`sandbox.http.sqs_api.OPERATIONS`), so both protocols answer alike. A form is SQS's
when its ``Action`` is an SQS operation and it does not say otherwise: SNS shares
``AddPermission`` and ``RemovePermission``, so those need SQS's ``Version`` (2012-11-05),
a queue path or an ``sqs`` signing scope.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sandbox.http import sqs_api
from sandbox.http.awsquery import (
    XmlValue,
    form_params,
    indexed,
    request_id,
    scope_service,
    xml_element,
)
from sandbox.http.protocol import Request, Response
from sandbox.resources.errors import InvalidParameterValue, ServiceError, UnsupportedOperation

if TYPE_CHECKING:
    from sandbox._sandbox import Sandbox

__all__ = ["handle"]

_XMLNS = "http://queue.amazonaws.com/doc/2012-11-05/"
_VERSION = "2012-11-05"
_QUEUE_PATH = re.compile(r"^/\d{12}/[A-Za-z0-9_.-]{1,80}/?$")
_SHARED_WITH_SNS = frozenset({"AddPermission", "RemovePermission"})
_STRINGS = (
    "QueueName",
    "QueueUrl",
    "QueueNamePrefix",
    "QueueOwnerAWSAccountId",
    "NextToken",
    "MessageBody",
    "MessageGroupId",
    "MessageDeduplicationId",
    "ReceiptHandle",
    "Id",
)
_INTEGERS = (
    "MaxResults",
    "DelaySeconds",
    "MaxNumberOfMessages",
    "VisibilityTimeout",
    "WaitTimeSeconds",
)
_LISTS = {
    "AttributeNames": "AttributeName",
    "MessageAttributeNames": "MessageAttributeName",
    "MessageSystemAttributeNames": "MessageSystemAttributeName",
}
_ENTRIES = {
    "SendMessageBatch": "SendMessageBatchRequestEntry",
    "DeleteMessageBatch": "DeleteMessageBatchRequestEntry",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibilityBatchRequestEntry",
}


def handle(sb: Sandbox, request: Request) -> Response | None:
    """Answer an SQS query-protocol request; None for any other request."""
    service = scope_service(request)
    if service not in (None, "sqs"):
        return None
    params = form_params(request)
    if params is None:
        return None
    action = params.get("Action", "")
    if action not in sqs_api.OPERATIONS and action not in sqs_api.LATER:
        return None
    on_queue = bool(_QUEUE_PATH.match(request.path))
    if not on_queue and request.path not in ("", "/"):
        return None
    says_sqs = params.get("Version") == _VERSION or on_queue or service == "sqs"
    if action in _SHARED_WITH_SNS and not says_sqs:
        return None  # SNS's
    rid = request_id()
    try:
        call = sqs_api.OPERATIONS.get(action)
        if call is None:
            raise UnsupportedOperation(
                f"The sandbox does not implement SQS's {action} operation yet."
            )
        body = _body(params, action)
        if on_queue and "QueueUrl" not in body:
            body["QueueUrl"] = f"https://sqs.{request.region}.amazonaws.com{request.path}"
        answer = call(sqs_api.client_for(sb, request), body, request)
    except ServiceError as error:
        return _error(error, rid)
    result = _result(action, sqs_api.jsonable(answer))
    document: dict[str, XmlValue] = {
        **({f"{action}Result": result} if result is not None else {}),
        "ResponseMetadata": {"RequestId": rid},
    }
    xml = xml_element(f"{action}Response", document).replace(
        f"<{action}Response>", f'<{action}Response xmlns="{_XMLNS}">', 1
    )
    return Response(200, xml.encode(), _headers(rid))


# parameters to the JSON protocol's body --------------------------------------------------------
def _body(params: Mapping[str, str], action: str) -> dict[str, Any]:
    body = _members(params, "")
    if action in _ENTRIES:
        body["Entries"] = [_members(params, f"{p}.") for p in indexed(params, _ENTRIES[action])]
    return body


def _members(params: Mapping[str, str], prefix: str) -> dict[str, Any]:
    """The members under ``prefix`` (``""`` for the request, ``Entry.N.`` for a batch entry)."""
    body: dict[str, Any] = {}
    for name in _STRINGS:
        if prefix + name in params:
            body[name] = params[prefix + name]
    for name in _INTEGERS:
        if prefix + name in params:
            body[name] = _integer(name, params[prefix + name])
    for member, location in _LISTS.items():
        values = [params[p] for p in indexed(params, prefix + location) if p in params]
        if values:
            body[member] = values
    for member, location, key, value in (
        ("Attributes", "Attribute", "Name", "Value"),
        ("tags", "Tag", "Key", "Value"),
    ):
        pairs = {
            params[f"{p}.{key}"]: params.get(f"{p}.{value}", "")
            for p in indexed(params, prefix + location)
            if f"{p}.{key}" in params
        }
        if pairs:
            body[member] = pairs
    for member, location in (
        ("MessageAttributes", "MessageAttribute"),
        ("MessageSystemAttributes", "MessageSystemAttribute"),
    ):
        attributes = {
            params.get(f"{p}.Name", ""): {
                field: params[f"{p}.Value.{field}"]
                for field in ("DataType", "StringValue", "BinaryValue")
                if f"{p}.Value.{field}" in params
            }
            for p in indexed(params, prefix + location)
        }
        if attributes:
            body[member] = attributes
    return body


def _integer(name: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InvalidParameterValue(
            f"Value {text} for parameter {name} is invalid. Reason: Must be an integer."
        ) from None


# the answer as XML -----------------------------------------------------------------------------
Children = list[tuple[str, XmlValue]]


def _result(action: str, answer: Mapping[str, Any]) -> Children | None:
    """An operation's answer as the children of its ``<ActionResult>`` (None: no result)."""
    children: Children = []
    if action in ("CreateQueue", "GetQueueUrl"):
        children.append(("QueueUrl", answer["QueueUrl"]))
    elif action in ("ListQueues", "ListDeadLetterSourceQueues"):
        urls = answer.get("QueueUrls", answer.get("queueUrls", []))
        children += [("QueueUrl", u) for u in urls]
        children += [("NextToken", answer["NextToken"])] if "NextToken" in answer else []
    elif action == "GetQueueAttributes":
        children += _pairs("Attribute", answer.get("Attributes", {}))
    elif action == "SendMessage":
        children += _fields(answer, "MD5OfMessageBody", "MD5OfMessageAttributes", "MessageId")
        children += _fields(answer, "SequenceNumber")
    elif action == "ReceiveMessage":
        children += [("Message", _message(m)) for m in answer.get("Messages", [])]
    elif action in _ENTRIES:
        entry = f"{action}ResultEntry"
        for success in answer.get("Successful", []):
            children.append((entry, {k: str(v) for k, v in success.items()}))
        for failure in answer.get("Failed", []):
            fields = {
                "Id": failure["Id"],
                "SenderFault": str(failure["SenderFault"]).lower(),
                "Code": failure["Code"],
                "Message": failure["Message"],
            }
            children.append(("BatchResultErrorEntry", fields))
    else:
        return None
    return children


def _message(message: Mapping[str, Any]) -> XmlValue:
    children: Children = _fields(message, "MessageId", "ReceiptHandle", "MD5OfBody", "Body")
    children += _pairs("Attribute", message.get("Attributes", {}))
    children += _fields(message, "MD5OfMessageAttributes")
    for name, attribute in message.get("MessageAttributes", {}).items():
        value = {
            k: attribute[k] for k in ("StringValue", "BinaryValue", "DataType") if k in attribute
        }
        children.append(("MessageAttribute", {"Name": name, "Value": value}))
    return children


def _fields(answer: Mapping[str, Any], *names: str) -> Children:
    return [(n, str(answer[n])) for n in names if n in answer]


def _pairs(element: str, values: Mapping[str, str]) -> Children:
    return [(element, {"Name": k, "Value": v}) for k, v in values.items()]


def _headers(rid: str) -> dict[str, str]:
    return {"Content-Type": "text/xml", "x-amzn-RequestId": rid}


def _error(error: ServiceError, rid: str) -> Response:
    code = "InvalidParameterValue" if error.code == "SerializationException" else error.code
    body = xml_element(
        "ErrorResponse",
        {
            "Error": {"Type": "Sender", "Code": code, "Message": error.message, "Detail": ""},
            "RequestId": rid,
        },
    ).replace("<ErrorResponse>", f'<ErrorResponse xmlns="{_XMLNS}">', 1)
    return Response(error.status_code, body.encode(), _headers(rid))
