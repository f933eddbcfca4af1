"""SQS's older query protocol (SDKs from before SQS's JSON protocol): form requests built as
those SDKs build them, XML answers in the shapes their service model parses.

The shapes here were checked against botocore 1.29's query-protocol SQS model; the current
botocore speaks JSON, so these tests read the XML themselves."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import pytest

from sandbox import Sandbox
from sandbox.http import sns_api, sqs_api
from sandbox.http.protocol import Request, Response

pytestmark = pytest.mark.timeout(60)

NS = "{http://queue.amazonaws.com/doc/2012-11-05/}"
FORM = {"content-type": "application/x-www-form-urlencoded; charset=utf-8"}


def ask(sb: Sandbox, params: dict[str, str], path: str = "/", version: bool = True) -> Response:
    body = {**params, **({"Version": "2012-11-05"} if version else {})}
    request = Request(
        method="POST",
        path=path,
        query={},
        headers=FORM,
        body=urlencode(body).encode(),
        account_id=sb.account_id,
        region=sb.region,
    )
    response = sqs_api.handle(sb, request)
    assert response is not None
    return response


def result(response: Response, action: str) -> ET.Element:
    assert response.status == 200, response.body
    root = ET.fromstring(response.body)
    assert root.tag == f"{NS}{action}Response"
    assert (
        root.findtext(f"{NS}ResponseMetadata/{NS}RequestId")
        == (response.headers["x-amzn-RequestId"])
    )
    found = root.find(f"{NS}{action}Result")
    assert found is not None
    return found


def test_create_send_receive_in_xml(sb: Sandbox) -> None:
    created = result(
        ask(
            sb,
            {
                "Action": "CreateQueue",
                "QueueName": "orders",
                "Attribute.1.Name": "VisibilityTimeout",
                "Attribute.1.Value": "45",
            },
        ),
        "CreateQueue",
    )
    url = created.findtext(f"{NS}QueueUrl")
    assert url == f"https://sqs.{sb.region}.amazonaws.com/{sb.account_id}/orders"
    assert sb.sqs.get_queue_attributes(url, ["VisibilityTimeout"])["Attributes"] == {
        "VisibilityTimeout": "45"
    }
    body = 'a <b> & "c"\r\nd'
    sent = result(
        ask(
            sb,
            {
                "Action": "SendMessage",
                "MessageBody": body,
                "MessageAttribute.1.Name": "blob",
                "MessageAttribute.1.Value.DataType": "Binary",
                "MessageAttribute.1.Value.BinaryValue": base64.b64encode(b"\x00\xff").decode(),
            },
            path=f"/{sb.account_id}/orders",  # older SDKs post to the queue's own path
        ),
        "SendMessage",
    )
    assert [c.tag.removeprefix(NS) for c in sent] == [
        "MD5OfMessageBody",
        "MD5OfMessageAttributes",
        "MessageId",
    ]
    got = result(
        ask(
            sb,
            {
                "Action": "ReceiveMessage",
                "QueueUrl": url,
                "AttributeName.1": "ApproximateReceiveCount",
                "MessageAttributeName.1": "All",
            },
        ),
        "ReceiveMessage",
    )
    (message,) = got.findall(f"{NS}Message")
    assert message.findtext(f"{NS}Body") == body  # the CR survives XML's line-end handling
    assert message.findtext(f"{NS}MessageId") == sent.findtext(f"{NS}MessageId")
    assert message.findtext(f"{NS}MD5OfBody") == sent.findtext(f"{NS}MD5OfMessageBody")
    attribute = message.find(f"{NS}Attribute")
    assert attribute is not None
    assert attribute.findtext(f"{NS}Name") == "ApproximateReceiveCount"
    assert attribute.findtext(f"{NS}Value") == "1"
    user = message.find(f"{NS}MessageAttribute")
    assert user is not None
    assert user.findtext(f"{NS}Name") == "blob"
    assert user.findtext(f"{NS}Value/{NS}DataType") == "Binary"
    assert user.findtext(f"{NS}Value/{NS}BinaryValue") == base64.b64encode(b"\x00\xff").decode()


def test_batches_and_lists_are_flattened(sb: Sandbox) -> None:
    url = sb.sqs.create_queue("b")["QueueUrl"]
    sent = result(
        ask(
            sb,
            {
                "Action": "SendMessageBatch",
                "QueueUrl": url,
                "SendMessageBatchRequestEntry.1.Id": "ok",
                "SendMessageBatchRequestEntry.1.MessageBody": "one",
                "SendMessageBatchRequestEntry.2.Id": "late",
                "SendMessageBatchRequestEntry.2.MessageBody": "two",
                "SendMessageBatchRequestEntry.2.DelaySeconds": "901",
            },
        ),
        "SendMessageBatch",
    )
    assert [e.findtext(f"{NS}Id") for e in sent.findall(f"{NS}SendMessageBatchResultEntry")] == [
        "ok"
    ]
    (failed,) = sent.findall(f"{NS}BatchResultErrorEntry")
    assert failed.findtext(f"{NS}Code") == "InvalidParameterValue"
    assert failed.findtext(f"{NS}SenderFault") == "true"
    listed = result(ask(sb, {"Action": "ListQueues"}), "ListQueues")
    assert [e.text for e in listed.findall(f"{NS}QueueUrl")] == [url]
    attributes = result(
        ask(sb, {"Action": "GetQueueAttributes", "QueueUrl": url, "AttributeName.1": "All"}),
        "GetQueueAttributes",
    )
    pairs = {
        a.findtext(f"{NS}Name"): a.findtext(f"{NS}Value")
        for a in attributes.findall(f"{NS}Attribute")
    }
    assert pairs["ApproximateNumberOfMessages"] == "1"


def test_errors_in_xml_with_the_legacy_code(sb: Sandbox) -> None:
    response = ask(sb, {"Action": "GetQueueUrl", "QueueName": "missing"})
    assert response.status == 400
    root = ET.fromstring(response.body)
    assert root.tag == f"{NS}ErrorResponse"
    assert root.findtext(f"{NS}Error/{NS}Type") == "Sender"
    assert root.findtext(f"{NS}Error/{NS}Code") == "AWS.SimpleQueueService.NonExistentQueue"
    assert root.findtext(f"{NS}Error/{NS}Message") == "The specified queue does not exist."
    bad = ask(sb, {"Action": "ReceiveMessage", "QueueUrl": "x", "MaxNumberOfMessages": "ten"})
    assert ET.fromstring(bad.body).findtext(f"{NS}Error/{NS}Code") == "InvalidParameterValue"
    later = ask(sb, {"Action": "TagQueue", "QueueUrl": "x"})
    assert b"TagQueue" in later.body
    assert b"AWS.SimpleQueueService.UnsupportedOperation" in later.body


def test_actions_shared_with_sns_go_by_version(sb: Sandbox) -> None:
    sqs_permission = ask(sb, {"Action": "AddPermission", "QueueUrl": "x"})
    assert b"AWS.SimpleQueueService.UnsupportedOperation" in sqs_permission.body
    sns_form = Request(
        method="POST",
        path="/",
        query={},
        headers=FORM,
        body=b"Action=AddPermission&Version=2010-03-31&TopicArn=x",
        account_id=sb.account_id,
        region=sb.region,
    )
    assert sqs_api.handle(sb, sns_form) is None
    answer = sns_api.handle(sb, sns_form)
    assert answer is not None
    assert b"InvalidAction" in answer.body
    publish = Request("POST", "/", {}, FORM, b"Action=Publish", sb.account_id, sb.region)
    assert sqs_api.handle(sb, publish) is None
