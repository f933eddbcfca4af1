"""Check an event before it is sent: any event must be JSON within the payload limits
(spec §3); a service event must also have the fields its service sends, with the right
JSON types (spec §9). Problems are reported by JSON path, e.g.
``Records[0].body: expected string, got int``.

A schema is a small recursive value: a ``dict`` maps required keys (``"?key"`` when
optional) to schemas; a one-item ``list`` is an array of at least one such item; a type
(or tuple of types) is a leaf; :class:`Is` demands one exact value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.core.invocation import InvocationType, encode_payload
from sandbox.errors import LambdaError
from sandbox.events.catalogue import CATALOGUE

__all__ = ["SCHEMAS", "Is", "check_payload", "validate"]


@dataclass(frozen=True, slots=True)
class Is:
    """A field that must hold exactly ``value`` (``eventSource: "aws:sqs"``)."""

    value: object


_NUM = (int, float)
_NULL = type(None)
_S, _OS = str, (str, _NULL)
_NAMES = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object",
          list: "array", _NULL: "null"}  # fmt: skip

_HTTP_V1 = {
    "resource": _S,
    "path": _S,
    "httpMethod": _S,
    "headers": (dict, _NULL),
    "multiValueHeaders": (dict, _NULL),
    "queryStringParameters": (dict, _NULL),
    "multiValueQueryStringParameters": (dict, _NULL),
    "pathParameters": (dict, _NULL),
    "stageVariables": (dict, _NULL),
    "requestContext": {
        "accountId": _S,
        "apiId": _S,
        "stage": _S,
        "requestId": _S,
        "requestTime": _S,
        "requestTimeEpoch": int,
        "httpMethod": _S,
        "path": _S,
        "resourcePath": _S,
        "identity": {"sourceIp": _S},
    },
    "body": _OS,
    "isBase64Encoded": bool,
}
_HTTP_V2 = {
    "version": Is("2.0"),
    "routeKey": _S,
    "rawPath": _S,
    "rawQueryString": _S,
    "?cookies": list,
    "headers": dict,
    "?queryStringParameters": dict,
    "requestContext": {
        "accountId": _S,
        "apiId": _S,
        "domainName": _S,
        "domainPrefix": _S,
        "http": {"method": _S, "path": _S, "protocol": _S, "sourceIp": _S, "userAgent": _S},
        "requestId": _S,
        "routeKey": _S,
        "stage": _S,
        "time": _S,
        "timeEpoch": int,
    },
    "?body": _S,
    "isBase64Encoded": bool,
}
_S3 = [
    {
        "eventVersion": _S,
        "eventSource": Is("aws:s3"),
        "awsRegion": _S,
        "eventTime": _S,
        "eventName": _S,
        "userIdentity": {"principalId": _S},
        "requestParameters": {"sourceIPAddress": _S},
        "responseElements": dict,
        "s3": {
            "s3SchemaVersion": _S,
            "configurationId": _S,
            "bucket": {"name": _S, "ownerIdentity": {"principalId": _S}, "arn": _S},
            "object": {"key": _S, "?size": int, "?eTag": _S, "?versionId": _S, "sequencer": _S},
        },
    }
]
_EVENTBRIDGE = {
    "version": _S,
    "id": _S,
    "detail-type": _S,
    "source": _S,
    "account": _S,
    "time": _S,
    "region": _S,
    "resources": list,
    "detail": dict,
}
_DYNAMODB = {
    "Records": [
        {
            "eventID": _S,
            "eventName": _S,
            "eventVersion": _S,
            "eventSource": Is("aws:dynamodb"),
            "awsRegion": _S,
            "dynamodb": {
                "?ApproximateCreationDateTime": _NUM,
                "Keys": dict,
                "?NewImage": dict,
                "?OldImage": dict,
                "SequenceNumber": _S,
                "SizeBytes": int,
                "StreamViewType": _S,
            },
            "eventSourceARN": _S,
        }
    ]
}

SCHEMAS: dict[str, Any] = {
    "sqs": {
        "Records": [
            {
                "messageId": _S,
                "receiptHandle": _S,
                "body": _S,
                "attributes": {
                    "ApproximateReceiveCount": _S,
                    "SentTimestamp": _S,
                    "SenderId": _S,
                    "ApproximateFirstReceiveTimestamp": _S,
                },
                "messageAttributes": dict,
                "?md5OfMessageAttributes": _OS,
                "md5OfBody": _S,
                "eventSource": Is("aws:sqs"),
                "eventSourceARN": _S,
                "awsRegion": _S,
            }
        ]
    },
    "sns": {
        "Records": [
            {
                "EventSource": Is("aws:sns"),
                "EventVersion": _S,
                "EventSubscriptionArn": _S,
                "Sns": {
                    "Type": _S,
                    "MessageId": _S,
                    "TopicArn": _S,
                    "?Subject": _OS,
                    "Message": _S,
                    "Timestamp": _S,
                    "SignatureVersion": _S,
                    "Signature": _S,
                    "SigningCertUrl": _S,
                    "UnsubscribeUrl": _S,
                    "MessageAttributes": dict,
                },
            }
        ]
    },
    "s3-put": {"Records": _S3},
    "s3-delete": {"Records": _S3},
    "eventbridge": _EVENTBRIDGE,
    "scheduled": {**_EVENTBRIDGE, "detail-type": Is("Scheduled Event"), "source": Is("aws.events")},
    "apigateway-rest": _HTTP_V1,
    "apigateway-http": _HTTP_V2,
    "function-url": _HTTP_V2,
    "alb": {
        "requestContext": {"elb": {"targetGroupArn": _S}},
        "httpMethod": _S,
        "path": _S,
        "?queryStringParameters": dict,
        "?multiValueQueryStringParameters": dict,
        "?headers": dict,
        "?multiValueHeaders": dict,
        "body": _S,
        "isBase64Encoded": bool,
    },
    "kinesis": {
        "Records": [
            {
                "kinesis": {
                    "kinesisSchemaVersion": _S,
                    "partitionKey": _S,
                    "sequenceNumber": _S,
                    "data": _S,
                    "approximateArrivalTimestamp": _NUM,
                },
                "eventSource": Is("aws:kinesis"),
                "eventVersion": _S,
                "eventID": _S,
                "eventName": _S,
                "invokeIdentityArn": _S,
                "awsRegion": _S,
                "eventSourceARN": _S,
            }
        ]
    },
    "dynamodb-insert": _DYNAMODB,
    "dynamodb-modify": _DYNAMODB,
    "dynamodb-remove": _DYNAMODB,
    "cloudwatch-logs": {"awslogs": {"data": _S}},
    "ses": {
        "Records": [
            {
                "eventSource": Is("aws:ses"),
                "eventVersion": _S,
                "ses": {
                    "mail": {
                        "timestamp": _S,
                        "source": _S,
                        "messageId": _S,
                        "destination": list,
                        "headersTruncated": bool,
                        "headers": [{"name": _S, "value": _S}],
                        "commonHeaders": dict,
                    },
                    "receipt": {
                        "timestamp": _S,
                        "processingTimeMillis": int,
                        "recipients": list,
                        "spamVerdict": {"status": _S},
                        "virusVerdict": {"status": _S},
                        "spfVerdict": {"status": _S},
                        "dkimVerdict": {"status": _S},
                        "action": {"type": _S},
                    },
                },
            }
        ]
    },
    "cognito-pre-signup": {
        "version": _S,
        "region": _S,
        "userPoolId": _S,
        "userName": _S,
        "callerContext": {"awsSdkVersion": _S, "clientId": _S},
        "triggerSource": _S,
        "request": {"userAttributes": dict, "?validationData": (dict, _NULL)},
        "response": {"autoConfirmUser": bool, "autoVerifyEmail": bool, "autoVerifyPhone": bool},
    },
    "cloudformation-create": {
        "RequestType": _S,
        "ServiceToken": _S,
        "ResponseURL": _S,
        "StackId": _S,
        "RequestId": _S,
        "LogicalResourceId": _S,
        "ResourceType": _S,
        "?PhysicalResourceId": _S,
        "ResourceProperties": {"ServiceToken": _S},
        "?OldResourceProperties": dict,
    },
}


def check_payload(event: object, invocation_type: str = "RequestResponse") -> bytes:
    """The request body ``event`` makes, after Lambda's checks (spec §3): JSON, at most
    6 MB (RequestResponse) or 1 MB (Event).

    Raises:
        InvalidRequestContentException: the event is not JSON.
        RequestTooLargeException: the payload is over the limit.
    """
    return encode_payload(event, InvocationType(invocation_type))


def validate(kind: str, event: object) -> list[str]:
    """The problems of ``event`` as an event of ``kind``: missing fields and wrong types by
    JSON path, and a payload that is not JSON or is too large. Empty when it is fine.

    Raises:
        ValueError: an unknown kind.

    Example:
        >>> validate("sqs", {"Records": [{"body": 1}]})[0]
        'Records[0].messageId: missing'
    """
    if kind not in CATALOGUE:
        raise ValueError(f"unknown event kind {kind!r}; the kinds are: {', '.join(CATALOGUE)}")
    problems: list[str] = []
    try:
        check_payload(event)
    except LambdaError as exc:
        problems.append(f"$: {exc.code}: {exc.message}")
        return problems
    _check(SCHEMAS[kind], event, "", problems)
    return problems


def _name(value: object) -> str:
    """A value's type as the report names it: JSON names for containers and strings,
    Python's for numbers and booleans (``got int``)."""
    containers = {dict: "object", list: "array", str: "string", _NULL: "null"}
    return containers.get(type(value), type(value).__name__)


def _expected(schema: Any) -> str:
    types = schema if isinstance(schema, tuple) else (schema,)
    if int in types and float in types:
        types = tuple(t for t in types if t is not float)
        return " or ".join("number" if t is int else _NAMES[t] for t in types)
    return " or ".join(_NAMES[t] for t in types)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _check(schema: Any, value: object, path: str, out: list[str]) -> None:
    where = path or "$"
    if isinstance(schema, Is):
        if value != schema.value:
            out.append(f"{where}: expected {schema.value!r}, got {value!r}")
    elif isinstance(schema, Mapping):
        if not isinstance(value, dict):
            out.append(f"{where}: expected object, got {_name(value)}")
            return
        for key, sub in schema.items():
            optional, name = key.startswith("?"), key.lstrip("?")
            if name not in value:
                if not optional:
                    out.append(f"{_join(path, name)}: missing")
                continue
            _check(sub, value[name], _join(path, name), out)
    elif isinstance(schema, list):
        if not isinstance(value, list):
            out.append(f"{where}: expected array, got {_name(value)}")
            return
        if not value:
            out.append(f"{where}: expected at least one item")
        for i, item in enumerate(value):
            _check(schema[0], item, f"{path}[{i}]", out)
    else:
        types = schema if isinstance(schema, tuple) else (schema,)
        # JSON has no separate boolean-as-integer: True is not a number here
        ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
        if not ok:
            out.append(f"{where}: expected {_expected(schema)}, got {_name(value)}")
