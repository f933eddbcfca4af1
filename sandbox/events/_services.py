"""Builders of the record-shaped and service events (SQS, SNS, S3, EventBridge, Kinesis,
DynamoDB Streams, CloudWatch Logs, SES, Cognito, CloudFormation) and the codecs they share
with callers (message-attribute MD5s, DynamoDB attribute values, awslogs payloads)."""

from __future__ import annotations

import base64
import copy
import email.utils
import gzip
import hashlib
import json
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote, quote_plus

from sandbox.events._derive import Context, Event, as_bytes, as_text, md5_hex, per_record


# SQS --------------------------------------------------------------------------------------
def _sqs_attribute(value: object) -> dict[str, Any]:
    """A message attribute in the event's shape, from a plain value or an AWS-shaped dict."""
    if isinstance(value, Mapping):
        lower = {k[:1].lower() + k[1:]: v for k, v in value.items()}
        out: dict[str, Any] = {
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": str(lower.get("dataType", "String")),
        }
        if "binaryValue" in lower:
            raw = lower["binaryValue"]
            out["binaryValue"] = (
                base64.b64encode(raw).decode() if isinstance(raw, bytes | bytearray) else raw
            )
        else:
            out["stringValue"] = str(lower.get("stringValue", ""))
        return out
    if isinstance(value, bytes | bytearray):
        return {
            "binaryValue": base64.b64encode(value).decode(),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Binary",
        }
    kind = (
        "Number"
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool)
        else "String"
    )
    return {
        "stringValue": str(value),
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": kind,
    }


def md5_of_message_attributes(attributes: Mapping[str, Mapping[str, Any]]) -> str:
    """SQS's ``MD5OfMessageAttributes``: per attribute, sorted by name, the 4-byte
    big-endian length and bytes of the name, of the data type, one transport byte
    (1 string, 2 binary) and the length and bytes of the value; MD5 of it all (SQS
    developer guide, "Calculating the MD5 message digest for message attributes")."""
    buffer = bytearray()

    def put(data: bytes) -> None:
        buffer.extend(struct.pack(">I", len(data)))
        buffer.extend(data)

    for name in sorted(attributes):
        attribute = attributes[name]
        put(name.encode())
        put(str(attribute["dataType"]).encode())
        if "binaryValue" in attribute:
            buffer.append(2)
            put(base64.b64decode(attribute["binaryValue"]))
        else:
            buffer.append(1)
            put(str(attribute["stringValue"]).encode())
    return hashlib.md5(bytes(buffer)).hexdigest()


def _sqs(
    event: Event,
    ctx: Context,
    body: object = None,
    count: int | None = None,
    bodies: Sequence[object] | None = None,
    queue_name: str = "my-queue",
    message_attributes: Mapping[str, object] | None = None,
    fifo: bool = False,
    group_id: str = "default",
) -> Event:
    proto = event["Records"][0]
    if fifo and not queue_name.endswith(".fifo"):
        queue_name += ".fifo"  # FIFO queue names end in .fifo
    attrs = (
        {k: _sqs_attribute(v) for k, v in message_attributes.items()}
        if message_attributes is not None
        else proto["messageAttributes"]
    )
    records = []
    for i, value in enumerate(per_record(body, bodies, count, proto["body"])):
        text = as_text(value)
        record = copy.deepcopy(proto)
        record["messageId"] = ctx.uuid()
        record["receiptHandle"] = "AQEB" + ctx.b64(150).rstrip("=")
        record["body"] = text
        record["md5OfBody"] = md5_hex(text)
        record["attributes"] = {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": str(ctx.ms),
            "SenderId": proto["attributes"]["SenderId"],
            "ApproximateFirstReceiveTimestamp": str(ctx.ms + 123),
        }
        if fifo:  # spec §9: FIFO adds SequenceNumber, MessageGroupId, MessageDeduplicationId
            record["attributes"]["SequenceNumber"] = str(
                18_800_000_000_000_000_000 + ctx.ms * 1000 + i
            )
            record["attributes"]["MessageGroupId"] = group_id
            record["attributes"]["MessageDeduplicationId"] = hashlib.sha256(
                text.encode()
            ).hexdigest()
        record["messageAttributes"] = copy.deepcopy(attrs)
        if attrs:
            record["md5OfMessageAttributes"] = md5_of_message_attributes(attrs)
        else:  # spec §9: null when the message has no attributes
            record["md5OfMessageAttributes"] = None
        record["eventSourceARN"] = ctx.arn("sqs", queue_name)
        record["awsRegion"] = ctx.region
        records.append(record)
    return {"Records": records}


# SNS --------------------------------------------------------------------------------------
def _sns_attribute(value: object) -> dict[str, str]:
    if isinstance(value, Mapping):
        return {"Type": str(value.get("Type", "String")), "Value": str(value.get("Value", ""))}
    if isinstance(value, bytes | bytearray):
        return {"Type": "Binary", "Value": base64.b64encode(value).decode()}
    if isinstance(value, list | tuple):
        return {"Type": "String.Array", "Value": json.dumps(list(value))}
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return {"Type": "Number", "Value": str(value)}
    return {"Type": "String", "Value": str(value)}


def _sns(
    event: Event,
    ctx: Context,
    message: object = None,
    subject: str | None = "Order received",
    topic_name: str = "my-topic",
    message_attributes: Mapping[str, object] | None = None,
) -> Event:
    record = event["Records"][0]  # spec §9: SNS always sends exactly one record
    sns = record["Sns"]
    topic = ctx.arn("sns", topic_name)
    record["EventSubscriptionArn"] = f"{topic}:{ctx.uuid()}"
    sns["MessageId"] = ctx.uuid()
    sns["TopicArn"] = topic
    sns["Subject"] = subject
    if message is not None:
        sns["Message"] = as_text(message)
    sns["Timestamp"] = ctx.iso_ms()
    sns["SigningCertUrl"] = (
        f"https://sns.{ctx.region}.amazonaws.com/SimpleNotificationService-{ctx.hex(32)}.pem"
    )
    sns["UnsubscribeUrl"] = (
        f"https://sns.{ctx.region}.amazonaws.com/?Action=Unsubscribe"
        f"&SubscriptionArn={record['EventSubscriptionArn']}"
    )
    if message_attributes is not None:
        sns["MessageAttributes"] = {k: _sns_attribute(v) for k, v in message_attributes.items()}
    return event


# S3 ---------------------------------------------------------------------------------------
def s3_key(key: str) -> str:
    """An object key as S3 writes it into events: URL-encoded, spaces as ``+``."""
    return quote_plus(key, safe="/")


def _s3_common(record: Event, ctx: Context, bucket: str, key: str | None) -> Event:
    record["awsRegion"] = ctx.region
    record["eventTime"] = ctx.iso_ms()
    record["responseElements"] = {
        "x-amz-request-id": ctx.hex(16, upper=True),
        "x-amz-id-2": ctx.b64(48),
    }
    record["s3"]["bucket"]["name"] = bucket
    record["s3"]["bucket"]["arn"] = f"arn:aws:s3:::{bucket}"  # bucket ARNs have no region
    obj: dict[str, Any] = record["s3"]["object"]
    if key is not None:
        obj["key"] = s3_key(str(key))
    obj["sequencer"] = f"{int(ctx.now * 1e6):016X}"[-16:].rjust(18, "0")
    return obj


def _s3_put(
    event: Event,
    ctx: Context,
    bucket: str = "my-bucket",
    key: str | None = None,
    size: int = 2048,
    etag: str | None = None,
    version_id: str | None = None,
) -> Event:
    record = event["Records"][0]
    obj = _s3_common(record, ctx, bucket, key)
    obj["size"] = int(size)
    obj["eTag"] = etag or md5_hex(f"{bucket}/{obj['key']}:{size}")
    if version_id is not None:  # spec §9: versionId only on versioned buckets
        obj["versionId"] = version_id
    return event


def _s3_delete(
    event: Event,
    ctx: Context,
    bucket: str = "my-bucket",
    key: str | None = None,
    version_id: str | None = None,
) -> Event:
    obj = _s3_common(event["Records"][0], ctx, bucket, key)  # deletes carry no size/eTag
    if version_id is not None:
        obj["versionId"] = version_id
    return event


# EventBridge ------------------------------------------------------------------------------
def _eventbridge(
    event: Event,
    ctx: Context,
    source: str | None = None,
    detail_type: str | None = None,
    detail: object = None,
    resources: Sequence[str] | None = None,
) -> Event:
    event["id"] = ctx.uuid()
    event["account"] = ctx.account
    event["region"] = ctx.region
    event["time"] = ctx.iso_s()
    if source is not None:
        event["source"] = source
    if detail_type is not None:
        event["detail-type"] = detail_type
    if detail is not None:
        event["detail"] = json.loads(detail) if isinstance(detail, str) else detail
    if resources is not None:
        event["resources"] = list(resources)
    return event


def _scheduled(event: Event, ctx: Context, rule_name: str = "my-schedule") -> Event:
    _eventbridge(event, ctx)
    event["resources"] = [ctx.arn("events", f"rule/{rule_name}")]
    return event


# Kinesis ----------------------------------------------------------------------------------
def _kinesis(
    event: Event,
    ctx: Context,
    data: object = None,
    count: int | None = None,
    records: Sequence[object] | None = None,
    partition_key: str = "sensor-7",
    stream_name: str = "my-stream",
) -> Event:
    proto = event["Records"][0]
    default = base64.b64decode(proto["kinesis"]["data"])
    out = []
    for i, value in enumerate(per_record(data, records, count, default)):
        # sequence numbers grow with time and within the batch (56 decimal digits)
        sequence = str(49656 * 10**51 + ctx.ms * 10**12 + i)
        record = copy.deepcopy(proto)
        record["kinesis"].update(
            partitionKey=partition_key,
            sequenceNumber=sequence,
            data=base64.b64encode(as_bytes(value)).decode(),
            approximateArrivalTimestamp=round(ctx.now, 3),
        )
        record["eventID"] = f"shardId-000000000000:{sequence}"
        record["invokeIdentityArn"] = f"arn:aws:iam::{ctx.account}:role/lambda-role"
        record["awsRegion"] = ctx.region
        record["eventSourceARN"] = ctx.arn("kinesis", f"stream/{stream_name}")
        out.append(record)
    return {"Records": out}


# DynamoDB ---------------------------------------------------------------------------------
def to_attribute_value(value: object) -> dict[str, Any]:
    """A plain Python value as DynamoDB's AttributeValue JSON (``{"S": "x"}``, ...)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int | float | Decimal):
        return {"N": str(value)}
    if isinstance(value, bytes | bytearray):
        return {"B": base64.b64encode(value).decode()}
    if isinstance(value, Mapping):
        return {"M": {str(k): to_attribute_value(v) for k, v in value.items()}}
    if isinstance(value, set | frozenset):
        items = sorted(value, key=str)
        if all(isinstance(v, str) for v in items):
            return {"SS": items}
        if all(isinstance(v, bytes | bytearray) for v in items):
            return {"BS": [base64.b64encode(v).decode() for v in items]}
        if all(isinstance(v, int | float | Decimal) and not isinstance(v, bool) for v in items):
            return {"NS": [str(v) for v in items]}
        raise TypeError("a DynamoDB set holds only strings, only numbers or only bytes")
    if isinstance(value, list | tuple):
        return {"L": [to_attribute_value(v) for v in value]}
    raise TypeError(f"cannot convert {type(value).__name__} to a DynamoDB attribute value")


def _item(values: Mapping[str, object]) -> dict[str, Any]:
    return {str(k): to_attribute_value(v) for k, v in values.items()}


def _value_size(av: Mapping[str, Any]) -> int:
    """Bytes of one attribute value, after DynamoDB's item-size rules ("Item sizes and
    formats": strings and binary by length, numbers ~1 byte per 2 digits + 1, 1 byte for
    BOOL and NULL, 3 bytes + 1 per element for L and M)."""
    ((tag, v),) = av.items()
    if tag == "S":
        return len(v.encode())
    if tag == "B":
        return len(base64.b64decode(v))
    if tag == "N":
        return (len(v.strip("-").replace(".", "").lstrip("0")) + 1) // 2 + 1
    if tag in ("BOOL", "NULL"):
        return 1
    if tag in ("SS", "BS", "NS"):
        return sum(_value_size({tag[0]: x}) for x in v)
    if tag == "L":
        return 3 + sum(1 + _value_size(x) for x in v)
    return 3 + sum(1 + len(k.encode()) + _value_size(x) for k, x in v.items())


def item_size(*items: Mapping[str, Any] | None) -> int:
    """``SizeBytes`` of a stream record: the keys and images it carries."""
    return sum(
        len(name.encode()) + _value_size(av) for item in items if item for name, av in item.items()
    )


def _dynamodb(
    event: Event,
    ctx: Context,
    keys: Mapping[str, object] | None = None,
    new_image: Mapping[str, object] | None = None,
    old_image: Mapping[str, object] | None = None,
    table_name: str = "Orders",
    stream_view_type: str = "NEW_AND_OLD_IMAGES",
) -> Event:
    record = event["Records"][0]
    ddb = record["dynamodb"]
    key_av = _item(keys) if keys is not None else ddb["Keys"]
    images = {"NewImage": new_image, "OldImage": old_image}
    for name, plain in images.items():
        if name not in ddb:
            if plain is not None:
                raise TypeError(f"a {record['eventName']} record has no {name}")
            continue
        image = _item(plain) if plain is not None else ddb[name]
        ddb[name] = {**key_av, **image}  # an image always holds the item's keys
    ddb["Keys"] = key_av
    ddb["ApproximateCreationDateTime"] = int(ctx.now)
    ddb["SequenceNumber"] = str(12 * 10**20 + ctx.ms * 1000 + ctx.rng.randrange(1000))
    ddb["StreamViewType"] = stream_view_type
    ddb["SizeBytes"] = item_size(ddb["Keys"], ddb.get("NewImage"), ddb.get("OldImage"))
    record["eventID"] = ctx.hex(32)
    record["awsRegion"] = ctx.region
    label = datetime.fromtimestamp(ctx.now, UTC).strftime("%Y-%m-%dT%H:%M:%S.000")
    record["eventSourceARN"] = ctx.arn("dynamodb", f"table/{table_name}/stream/{label}")
    return event


# CloudWatch Logs --------------------------------------------------------------------------
def decode_awslogs(event: Mapping[str, Any]) -> dict[str, Any]:
    """The subscription payload inside ``awslogs.data``: base64, then gzip, then JSON."""
    decoded = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
    assert isinstance(decoded, dict)
    return decoded


def encode_awslogs(payload: Mapping[str, Any]) -> dict[str, Any]:
    """``{"awslogs": {"data": base64(gzip(json))}}`` (CloudWatch Logs subscription filters)."""
    raw = gzip.compress(json.dumps(payload).encode(), mtime=0)
    return {"awslogs": {"data": base64.b64encode(raw).decode()}}


def _cloudwatch_logs(
    event: Event,
    ctx: Context,
    messages: Sequence[str] | str | None = None,
    log_group: str = "/aws/lambda/my-function",
    log_stream: str | None = None,
    subscription_filters: Sequence[str] = ("errors",),
) -> Event:
    payload = decode_awslogs(event)
    if messages is None:
        texts: Iterable[str] = [e["message"] for e in payload["logEvents"]]
    else:
        texts = [messages] if isinstance(messages, str) else [str(m) for m in messages]
    day = datetime.fromtimestamp(ctx.now, UTC).strftime("%Y/%m/%d")
    payload.update(
        owner=ctx.account,
        logGroup=log_group,
        logStream=log_stream or f"{day}/[$LATEST]{ctx.hex(32)}",
        subscriptionFilters=list(subscription_filters),
        logEvents=[
            # event ids are 56-digit decimal strings that grow with time
            {"id": str(ctx.ms * 10**43 + i), "timestamp": ctx.ms, "message": text}
            for i, text in enumerate(texts)
        ],
    )
    return encode_awslogs(payload)


# SES, Cognito, CloudFormation -------------------------------------------------------------
def _ses(
    event: Event,
    ctx: Context,
    sender: str = "jane@example.com",
    recipients: Sequence[str] | str = ("orders@example.com",),
    subject: str = "Order 1234",
    function_name: str = "my-function",
) -> Event:
    to = [recipients] if isinstance(recipients, str) else list(recipients)
    ses = event["Records"][0]["ses"]
    mail, receipt = ses["mail"], ses["receipt"]
    message_id = ctx.hex(20)
    date = email.utils.format_datetime(datetime.fromtimestamp(ctx.now, UTC))
    mail.update(timestamp=ctx.iso_ms(), source=sender, messageId=message_id, destination=to)
    mail["headers"] = [
        {"name": "Return-Path", "value": f"<{sender}>"},
        {"name": "From", "value": sender},
        {"name": "Date", "value": date},
        {"name": "To", "value": ", ".join(to)},
        {"name": "Message-ID", "value": f"<{ctx.uuid()}@example.com>"},
        {"name": "Subject", "value": subject},
        {"name": "MIME-Version", "value": "1.0"},
        {"name": "Content-Type", "value": "text/plain; charset=UTF-8"},
    ]
    mail["commonHeaders"] = {
        "returnPath": sender,
        "from": [sender],
        "date": date,
        "to": to,
        "messageId": mail["headers"][4]["value"],
        "subject": subject,
    }
    receipt["timestamp"] = ctx.iso_ms()
    receipt["recipients"] = to
    receipt["action"]["functionArn"] = ctx.arn("lambda", f"function:{function_name}")
    return event


def _cognito_pre_signup(
    event: Event,
    ctx: Context,
    username: str = "jane",
    email: str = "jane@example.com",
    user_attributes: Mapping[str, str] | None = None,
    trigger_source: str = "PreSignUp_SignUp",
) -> Event:
    event["region"] = ctx.region
    event["userPoolId"] = f"{ctx.region}_{event['userPoolId'].split('_', 1)[1]}"
    event["userName"] = username
    event["triggerSource"] = trigger_source
    attrs = {"email": email}
    attrs.update({str(k): str(v) for k, v in (user_attributes or {}).items()})
    event["request"]["userAttributes"] = attrs
    return event


def _cloudformation(
    event: Event,
    ctx: Context,
    request_type: str = "Create",
    resource_properties: Mapping[str, object] | None = None,
    old_resource_properties: Mapping[str, object] | None = None,
    physical_resource_id: str | None = None,
    stack_name: str = "my-stack",
    logical_resource_id: str | None = None,
    resource_type: str | None = None,
    function_name: str = "my-function",
) -> Event:
    if request_type not in ("Create", "Update", "Delete"):
        raise ValueError("request_type is Create, Update or Delete")
    token = ctx.arn("lambda", f"function:{function_name}")
    stack_id = ctx.arn("cloudformation", f"stack/{stack_name}/{ctx.uuid()}")
    request_id = ctx.uuid()
    props = (
        dict(resource_properties)
        if resource_properties is not None
        else {k: v for k, v in event["ResourceProperties"].items() if k != "ServiceToken"}
    )
    event.update(
        RequestType=request_type,
        ServiceToken=token,
        ResponseURL=(
            f"https://cloudformation-custom-resource-response-{ctx.region.replace('-', '')}"
            f".s3.amazonaws.com/{quote(stack_id, safe='')}%7C"
            f"{event['LogicalResourceId']}%7C{request_id}?X-Amz-Signature=EXAMPLE"
        ),
        StackId=stack_id,
        RequestId=request_id,
        ResourceProperties={"ServiceToken": token, **props},
    )
    if logical_resource_id is not None:
        event["LogicalResourceId"] = logical_resource_id
    if resource_type is not None:
        event["ResourceType"] = resource_type
    # Update and Delete name the resource the Create returned; Update adds the old props
    if request_type != "Create":
        event["PhysicalResourceId"] = physical_resource_id or (
            f"{stack_name}-{event['LogicalResourceId']}-{ctx.hex(12, upper=True)}"
        )
    if request_type == "Update":
        event["OldResourceProperties"] = {
            "ServiceToken": token,
            **dict(old_resource_properties if old_resource_properties is not None else props),
        }
    return event


BUILDERS: dict[str, Callable[..., Event]] = {
    "sqs": _sqs,
    "sns": _sns,
    "s3-put": _s3_put,
    "s3-delete": _s3_delete,
    "eventbridge": _eventbridge,
    "scheduled": _scheduled,
    "kinesis": _kinesis,
    "dynamodb-insert": _dynamodb,
    "dynamodb-modify": _dynamodb,
    "dynamodb-remove": _dynamodb,
    "cloudwatch-logs": _cloudwatch_logs,
    "ses": _ses,
    "cognito-pre-signup": _cognito_pre_signup,
    "cloudformation-create": _cloudformation,
}
