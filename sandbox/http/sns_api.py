"""Amazon SNS's query protocol on the sandbox's endpoint: boto3's ``sns`` client against the
local topics (:class:`~sandbox.resources.topics.SNSClient`).

Why it exists: a topic is how one event fans out to queues and functions, and the code
that publishes to it is usually plain boto3; given ``endpoint_url`` it should publish to
the sandbox unchanged, and the subscribed queues and functions should get what AWS would
deliver. SNS speaks the query protocol: ``POST /`` with a form body ``Action=Publish&
Version=2010-03-31&TopicArn=...``, lists and maps flattened (``Attributes.entry.1.key``,
``MessageAttributes.entry.1.Value.StringValue``, ``Tags.member.1.Key``), answers in XML
(``<PublishResponse><PublishResult>...``) and errors as ``<ErrorResponse><Error><Type>
<Code><Message>`` with SNS's status (``NotFound`` is 404).

A request is SNS's when its ``Action`` is one of SNS's operations, it is sent to ``/``,
and it does not say otherwise (SQS's older query protocol shares ``AddPermission`` and
``RemovePermission`` but sends ``Version=2012-11-05``, and a SigV4 scope names the
service). Operations of SNS the local topics lack answer ``InvalidAction`` naming the
operation.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from sandbox.http.awsquery import (
    XmlValue,
    form_params,
    indexed,
    mapping,
    request_id,
    scope_service,
    xml_element,
)
from sandbox.http.protocol import Request, Response
from sandbox.resources.errors import InvalidParameter, ServiceError
from sandbox.resources.topics import SNSClient

if TYPE_CHECKING:
    from sandbox._sandbox import Sandbox

__all__ = ["OPERATIONS", "handle"]

_XMLNS = "http://sns.amazonaws.com/doc/2010-03-31/"
_SQS_VERSION = "2012-11-05"
_PAGE = 100  # ListTopics and ListSubscriptionsByTopic answer 100 at a time
# botocore's SNS service model (2010-03-31): the operations the sandbox does not implement
_LATER = frozenset(
    {
        "AddPermission",
        "CheckIfPhoneNumberIsOptedOut",
        "ConfirmSubscription",
        "CreatePlatformApplication",
        "CreatePlatformEndpoint",
        "CreateSMSSandboxPhoneNumber",
        "DeleteEndpoint",
        "DeletePlatformApplication",
        "DeleteSMSSandboxPhoneNumber",
        "GetDataProtectionPolicy",
        "GetEndpointAttributes",
        "GetPlatformApplicationAttributes",
        "GetSMSAttributes",
        "GetSMSSandboxAccountStatus",
        "GetSubscriptionAttributes",
        "ListEndpointsByPlatformApplication",
        "ListOriginationNumbers",
        "ListPhoneNumbersOptedOut",
        "ListPlatformApplications",
        "ListSMSSandboxPhoneNumbers",
        "ListSubscriptions",
        "ListTagsForResource",
        "OptInPhoneNumber",
        "PublishBatch",
        "PutDataProtectionPolicy",
        "RemovePermission",
        "SetEndpointAttributes",
        "SetPlatformApplicationAttributes",
        "SetSMSAttributes",
        "SetSubscriptionAttributes",
        "SetTopicAttributes",
        "TagResource",
        "UntagResource",
        "VerifySMSSandboxPhoneNumber",
    }
)

Params = Mapping[str, str]
Result = Mapping[str, XmlValue] | None


class _QueryError(ServiceError):
    """An error of the query protocol itself rather than of SNS's API (a missing member, an
    action not served); the code and status are given per instance."""

    service = "sns"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code  # type: ignore[misc]


def handle(sb: Sandbox, request: Request) -> Response | None:
    """Answer an SNS query-protocol request; None for any other request."""
    if request.path not in ("", "/") or scope_service(request) not in (None, "sns"):
        return None
    params = form_params(request)
    if params is None or params.get("Version") == _SQS_VERSION:
        return None
    action = params.get("Action", "")
    call = OPERATIONS.get(action)
    if call is None and action not in _LATER:
        return None
    rid = request_id()
    try:
        if call is None:
            raise _QueryError(
                "InvalidAction", f"The sandbox does not implement SNS's {action} operation yet."
            )
        result = call(_client(sb, request), params)
    except ServiceError as error:
        return _error(error, rid)
    body = {
        **({f"{action}Result": result} if result is not None else {}),
        "ResponseMetadata": {"RequestId": rid},
    }
    xml = xml_element(f"{action}Response", body).replace(
        f"<{action}Response>", f'<{action}Response xmlns="{_XMLNS}">', 1
    )
    return Response(200, xml.encode(), _headers(rid))


# the operations --------------------------------------------------------------------------------
def _create_topic(client: SNSClient, params: Params) -> Result:
    if indexed(params, "Tags.member") or params.get("DataProtectionPolicy"):
        raise InvalidParameter(
            "Invalid parameter: Tags and DataProtectionPolicy are not supported by the sandbox yet."
        )
    name = _required(params, "Name")
    return client.create_topic(name, mapping(params, "Attributes", "key", "value"))


def _list_topics(client: SNSClient, params: Params) -> Result:
    arns = [t["TopicArn"] for t in client.list_topics()["Topics"]]
    page, token = _page(arns, params.get("NextToken"))
    topics: list[XmlValue] = [{"TopicArn": arn} for arn in page]
    return {"Topics": topics, "NextToken": token}


def _delete_topic(client: SNSClient, params: Params) -> Result:
    client.delete_topic(_required(params, "TopicArn"))
    return None


def _get_topic_attributes(client: SNSClient, params: Params) -> Result:
    attributes = client.get_topic_attributes(_required(params, "TopicArn"))["Attributes"]
    return {"Attributes": _entries(attributes)}


def _subscribe(client: SNSClient, params: Params) -> Result:
    topic_arn = _required(params, "TopicArn")
    protocol = _required(params, "Protocol")
    return client.subscribe(
        topic_arn,
        protocol,
        params.get("Endpoint", ""),
        mapping(params, "Attributes", "key", "value"),
        return_subscription_arn=params.get("ReturnSubscriptionArn", "").lower() == "true",
    )


def _unsubscribe(client: SNSClient, params: Params) -> Result:
    client.unsubscribe(_required(params, "SubscriptionArn"))
    return None


def _list_subscriptions_by_topic(client: SNSClient, params: Params) -> Result:
    found = client.list_subscriptions_by_topic(_required(params, "TopicArn"))["Subscriptions"]
    page, token = _page(found, params.get("NextToken"))
    members: list[XmlValue] = [
        {k: s[k] for k in ("TopicArn", "Protocol", "SubscriptionArn", "Owner", "Endpoint")}
        for s in page
    ]
    return {"Subscriptions": members, "NextToken": token}


def _publish(client: SNSClient, params: Params) -> Result:
    if params.get("PhoneNumber"):
        raise InvalidParameter(
            "Invalid parameter: PhoneNumber Reason: SMS is outside the sandbox; publish to a topic."
        )
    for member in ("MessageGroupId", "MessageDeduplicationId"):
        if params.get(member):
            raise InvalidParameter(
                f"Invalid parameter: {member} Reason: not supported by the sandbox yet."
            )
    topic_arn = params.get("TopicArn") or params.get("TargetArn")
    if not topic_arn:
        raise InvalidParameter(
            "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter"
        )
    message = _required(params, "Message")
    structure = params.get("MessageStructure")
    if structure is not None:
        message = _structured(message, structure)
    return client.publish(
        topic_arn,
        message,
        subject=params.get("Subject"),
        message_attributes=_message_attributes(params),
    )


OPERATIONS: dict[str, Callable[[SNSClient, Params], Result]] = {
    "CreateTopic": _create_topic,
    "ListTopics": _list_topics,
    "DeleteTopic": _delete_topic,
    "GetTopicAttributes": _get_topic_attributes,
    "Subscribe": _subscribe,
    "Unsubscribe": _unsubscribe,
    "ListSubscriptionsByTopic": _list_subscriptions_by_topic,
    "Publish": _publish,
}
"""The operations served, by ``Action``."""


# reading the request ---------------------------------------------------------------------------
def _client(sb: Sandbox, request: Request) -> SNSClient:
    """The local SNS of the request's account and region (from its credential scope)."""
    if (request.account_id, request.region) == (sb.account_id, sb.region):
        return sb.sns
    shared = sb._shared
    return SNSClient(
        shared.db, shared.clock, request.account_id, request.region, triggers=sb._triggers
    )


def _required(params: Params, member: str) -> str:
    value = params.get(member)
    if value is None:
        camel = member[0].lower() + member[1:]
        raise _QueryError(
            "ValidationError",
            f"1 validation error detected: Value null at '{camel}' failed to satisfy "
            "constraint: Member must not be null",
        )
    return value


def _message_attributes(params: Params) -> dict[str, dict[str, Any]] | None:
    """``MessageAttributes.entry.N.Name`` / ``.Value.DataType|StringValue|BinaryValue``
    (base64) as the local topic's attributes (bytes for binary values)."""
    attributes: dict[str, dict[str, Any]] = {}
    for prefix in indexed(params, "MessageAttributes.entry"):
        name = params.get(f"{prefix}.Name", "")
        attribute: dict[str, Any] = {}
        for field in ("DataType", "StringValue"):
            if f"{prefix}.Value.{field}" in params:
                attribute[field] = params[f"{prefix}.Value.{field}"]
        if f"{prefix}.Value.BinaryValue" in params:
            try:
                attribute["BinaryValue"] = base64.b64decode(
                    params[f"{prefix}.Value.BinaryValue"], validate=True
                )
            except (binascii.Error, ValueError):
                raise InvalidParameter(
                    f"Invalid parameter: MessageAttributes Reason: the binary value of "
                    f"'{name}' is not base64."
                ) from None
        attributes[name] = attribute
    return attributes or None


def _structured(message: str, structure: str) -> str:
    """A ``MessageStructure=json`` message: the ``default`` text, when every protocol the
    sandbox delivers to (``sqs``, ``lambda``) gets it; per-protocol texts are not served."""
    if structure != "json":
        raise InvalidParameter("Invalid parameter: MessageStructure")
    try:
        texts = json.loads(message)
    except ValueError:
        raise InvalidParameter(
            "Invalid parameter: Message Structure - JSON message body failed to parse"
        ) from None
    if not isinstance(texts, dict) or not isinstance(texts.get("default"), str):
        raise InvalidParameter(
            "Invalid parameter: Message Structure - No default entry in JSON message body"
        )
    default: str = texts["default"]
    for protocol in ("sqs", "lambda"):
        if isinstance(texts.get(protocol), str) and texts[protocol] != default:
            raise InvalidParameter(
                f"Invalid parameter: Message Structure - a message of its own for {protocol} "
                "is not supported by the sandbox yet."
            )
    return default


def _page(items: list[Any], token: str | None) -> tuple[list[Any], str | None]:
    """One page of ``_PAGE`` items after the token's, and the next token (None at the end)."""
    start = 0
    if token is not None:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode())
        except (ValueError, UnicodeDecodeError):
            raise InvalidParameter("Invalid parameter: NextToken") from None
        if not 0 <= start <= len(items):
            raise InvalidParameter("Invalid parameter: NextToken")
    page = items[start : start + _PAGE]
    end = start + len(page)
    if end >= len(items):
        return page, None
    return page, base64.urlsafe_b64encode(str(end).encode()).decode()


def _entries(attributes: Mapping[str, str]) -> list[tuple[str, XmlValue]]:
    return [("entry", {"key": k, "value": v}) for k, v in attributes.items()]


# writing the answer ----------------------------------------------------------------------------
def _headers(rid: str) -> dict[str, str]:
    return {"Content-Type": "text/xml", "x-amzn-RequestId": rid}


def _error(error: ServiceError, rid: str) -> Response:
    body = xml_element(
        "ErrorResponse",
        {
            "Error": {"Type": "Sender", "Code": error.code, "Message": error.message},
            "RequestId": rid,
        },
    ).replace("<ErrorResponse>", f'<ErrorResponse xmlns="{_XMLNS}">', 1)
    return Response(error.status_code, body.encode(), _headers(rid))
