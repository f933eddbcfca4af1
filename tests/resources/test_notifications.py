"""S3 event notifications to Lambda: the configuration with S3's checks and messages
(including the destination check S3 makes against the function's policy), which writes and
deletes match, and the S3 event of spec §9 delivered end to end."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sandbox import Sandbox
from sandbox.core.clock import iso8601_ms
from sandbox.resources.errors import AccessDenied, InvalidArgument, NoSuchBucket

ACCOUNT = "123456789012"
FN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:fn"
ECHO = "def lambda_handler(event, context):\n    return event\n"
UNABLE = r"^Unable to validate the following destination configurations$"


def lambda_config(**extra: Any) -> dict[str, Any]:
    config: dict[str, Any] = {"LambdaFunctionArn": FN, "Events": ["s3:ObjectCreated:*"]}
    config.update(extra)
    return config


def key_filter(**rules: str) -> dict[str, Any]:
    return {"Key": {"FilterRules": [{"Name": n, "Value": v} for n, v in rules.items()]}}


@pytest.fixture
def bucket(sb: Sandbox) -> str:
    sb.create_function("fn", ECHO)
    sb.s3.create_bucket("photos")
    return "photos"


def allow(sb: Sandbox, bucket: str = "photos") -> None:
    sb.add_permission(
        "fn",
        "s3",
        "lambda:InvokeFunction",
        "s3.amazonaws.com",
        source_arn=f"arn:aws:s3:::{bucket}",
        source_account=ACCOUNT,
    )


def configure(sb: Sandbox, *configs: dict[str, Any]) -> None:
    sb.s3.put_bucket_notification_configuration(
        "photos", {"LambdaFunctionConfigurations": list(configs)}
    )


def triggers(sb: Sandbox) -> list[dict[str, object]]:
    return sb.telemetry.rows(kind="trigger")


# the configuration ------------------------------------------------------------------------
def test_destination_must_allow_s3_for_this_bucket(sb: Sandbox, bucket: str) -> None:
    with pytest.raises(InvalidArgument, match=UNABLE):
        configure(sb, lambda_config(Id="on-upload"))
    sb.add_permission(
        "fn", "other", "lambda:InvokeFunction", "s3.amazonaws.com", source_arn="arn:aws:s3:::x"
    )
    with pytest.raises(InvalidArgument, match=UNABLE):
        configure(sb, lambda_config(Id="on-upload"))
    assert sb.s3.get_bucket_notification_configuration(bucket) == {}
    allow(sb)
    configure(sb, lambda_config(Id="on-upload"))
    assert sb.s3.get_bucket_notification_configuration(bucket) == {
        "LambdaFunctionConfigurations": [
            {"Id": "on-upload", "LambdaFunctionArn": FN, "Events": ["s3:ObjectCreated:*"]}
        ]
    }


def test_missing_or_foreign_functions_are_refused(sb: Sandbox, bucket: str) -> None:
    for arn in (
        f"{FN}x",
        f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:fn",
        f"arn:aws:sqs:us-east-1:{ACCOUNT}:q",
    ):
        with pytest.raises(InvalidArgument, match=UNABLE):
            configure(sb, lambda_config(LambdaFunctionArn=arn))


def test_skip_destination_validation(sb: Sandbox, bucket: str) -> None:
    sb.s3.put_bucket_notification_configuration(
        bucket,
        {"LambdaFunctionConfigurations": [lambda_config(Id="x")]},
        skip_destination_validation=True,
    )
    assert sb.s3.get_bucket_notification_configuration(bucket)["LambdaFunctionConfigurations"]


def test_ids_filters_and_removal(sb: Sandbox, bucket: str) -> None:
    allow(sb)
    configure(
        sb,
        lambda_config(Filter=key_filter(prefix="raw/", suffix=".jpg")),
        lambda_config(Id="gone", Events=["s3:ObjectRemoved:*"]),
    )
    first, second = sb.s3.get_bucket_notification_configuration(bucket)[
        "LambdaFunctionConfigurations"
    ]
    assert isinstance(first["Id"], str) and first["Id"]  # S3 names unnamed configurations
    assert first["Filter"] == {
        "Key": {
            "FilterRules": [
                {"Name": "Prefix", "Value": "raw/"},
                {"Name": "Suffix", "Value": ".jpg"},
            ]
        }
    }
    assert second == {"Id": "gone", "LambdaFunctionArn": FN, "Events": ["s3:ObjectRemoved:*"]}
    sb.s3.put_bucket_notification_configuration(bucket, {})
    assert sb.s3.get_bucket_notification_configuration(bucket) == {}


@pytest.mark.parametrize(
    ("configs", "message"),
    [
        (
            [lambda_config(Events=["s3:ObjectCreated:Get"])],
            "The event is not supported for notifications",
        ),
        (
            [lambda_config(Events=[])],
            "Missing required parameter in LambdaFunctionConfiguration: Events",
        ),
        (
            [lambda_config(Filter=key_filter(middle="x"))],
            "filter rule name must be either prefix or suffix",
        ),
        (
            [
                lambda_config(
                    Filter={
                        "Key": {
                            "FilterRules": [
                                {"Name": "prefix", "Value": "a"},
                                {"Name": "Prefix", "Value": "b"},
                            ]
                        }
                    }
                )
            ],
            "Cannot specify more than one prefix rule in a filter.",
        ),
        (
            [lambda_config(Id="a"), lambda_config(Id="b", Events=["s3:ObjectCreated:Put"])],
            "Configurations overlap. Configurations on the same bucket cannot share a common "
            "event type.",
        ),
        (
            [
                lambda_config(Id="a", Filter=key_filter(prefix="raw/")),
                lambda_config(Id="b", Filter=key_filter(prefix="raw/2025/")),
            ],
            "Configurations overlap.",
        ),
        (
            [lambda_config(Id="a"), lambda_config(Id="a", Events=["s3:ObjectRemoved:*"])],
            "Configuration is ambiguously defined. Cannot have overlapping id",
        ),
    ],
)
def test_configuration_errors(
    sb: Sandbox, bucket: str, configs: list[dict[str, Any]], message: str
) -> None:
    allow(sb)
    with pytest.raises(InvalidArgument) as info:
        configure(sb, *configs)
    assert info.value.message.startswith(message)
    assert sb.s3.get_bucket_notification_configuration(bucket) == {}


def test_disjoint_configurations_are_fine(sb: Sandbox, bucket: str) -> None:
    allow(sb)
    configure(
        sb,
        lambda_config(Id="a", Filter=key_filter(prefix="raw/")),
        lambda_config(Id="b", Filter=key_filter(prefix="thumbs/")),
        lambda_config(Id="c", Events=["s3:ObjectRemoved:Delete"], Filter=key_filter(prefix="raw/")),
    )
    assert (
        len(sb.s3.get_bucket_notification_configuration(bucket)["LambdaFunctionConfigurations"])
        == 3
    )


def test_other_destinations_are_not_supported_yet(sb: Sandbox, bucket: str) -> None:
    with pytest.raises(InvalidArgument, match="QueueConfigurations are not supported"):
        sb.s3.put_bucket_notification_configuration(
            bucket,
            {"QueueConfigurations": [{"QueueArn": "arn:aws:sqs:us-east-1:1:q", "Events": []}]},
        )


def test_bucket_errors(sb: Sandbox, bucket: str) -> None:
    with pytest.raises(NoSuchBucket):
        sb.s3.get_bucket_notification_configuration("nope")
    other = sb.for_account("210987654321")
    with pytest.raises(AccessDenied):
        other.s3.put_bucket_notification_configuration(bucket, {})


def test_deleting_the_bucket_deletes_its_configuration(sb: Sandbox, bucket: str) -> None:
    allow(sb)
    configure(sb, lambda_config(Id="x"))
    sb.s3.delete_bucket(bucket)
    sb.s3.create_bucket(bucket)
    assert sb.s3.get_bucket_notification_configuration(bucket) == {}


# what writes and deletes notify ------------------------------------------------------------------
def test_matching_writes_and_deletes(sb: Sandbox, bucket: str) -> None:
    allow(sb)
    configure(
        sb,
        lambda_config(Id="upload", Filter=key_filter(prefix="raw/", suffix=".jpg")),
        lambda_config(Id="removal", Events=["s3:ObjectRemoved:Delete"]),
    )
    sb.remove_permission("fn", "s3")  # later deliveries are denied: no process needed here
    sb.s3.put_object(bucket, "raw/a.png", b"x")  # suffix does not match
    sb.s3.put_object(bucket, "thumbs/a.jpg", b"x")  # prefix does not match
    assert triggers(sb) == []
    sb.s3.put_object(bucket, "raw/a.jpg", b"x")
    sb.s3.delete_object(bucket, "never-there")  # nothing deleted, nothing notified
    sb.s3.delete_object(bucket, "raw/a.jpg")
    records = triggers(sb)
    assert [(r["configuration_id"], r["event_name"], r["key"]) for r in records] == [
        ("upload", "ObjectCreated:Put", "raw/a.jpg"),
        ("removal", "ObjectRemoved:Delete", "raw/a.jpg"),
    ]
    for record in records:
        assert record["status"] == "denied"
        assert record["trigger"] == "s3"
        assert record["principal"] == "s3.amazonaws.com"
        assert record["source_arn"] == "arn:aws:s3:::photos"


@pytest.mark.process
@pytest.mark.timeout(90)
def test_the_function_gets_s3_events(sb: Sandbox, bucket: str) -> None:
    url = sb.sqs.create_queue("seen")["QueueUrl"]
    sb.put_function_event_invoke_config(
        "fn",
        destination_config={"OnSuccess": {"Destination": f"arn:aws:sqs:us-east-1:{ACCOUNT}:seen"}},
    )
    allow(sb)
    configure(
        sb,
        lambda_config(Id="on-upload", Filter=key_filter(prefix="photos/")),
        lambda_config(Id="on-delete", Events=["s3:ObjectRemoved:*"]),
    )
    now = sb.clock.time()
    etag = sb.s3.put_object(bucket, "photos/my holiday.jpg", b"x" * 2048)["ETag"]
    sb.s3.put_object(bucket, "photos/second.jpg", b"y")
    sb.s3.delete_object(bucket, "photos/my holiday.jpg")
    records = triggers(sb)
    assert [r["status"] for r in records] == ["invoked"] * 3
    assert sb.drain(60)
    got = sb.sqs.receive_message(url, max_number_of_messages=10)["Messages"]
    payloads = {
        json.loads(m["Body"])["requestContext"]["requestId"]: json.loads(m["Body"])[
            "requestPayload"
        ]
        for m in got
    }
    put, second, delete = (payloads[str(r["request_id"])] for r in records)
    (record,) = put["Records"]  # one record per event
    assert record["eventVersion"] == "2.1"
    assert record["eventSource"] == "aws:s3"
    assert record["awsRegion"] == "us-east-1"
    assert record["eventTime"] == iso8601_ms(now)
    assert record["eventName"] == "ObjectCreated:Put"
    assert set(record) == {
        "eventVersion",
        "eventSource",
        "awsRegion",
        "eventTime",
        "eventName",
        "userIdentity",
        "requestParameters",
        "responseElements",
        "s3",
    }
    assert set(record["responseElements"]) == {"x-amz-request-id", "x-amz-id-2"}
    s3 = record["s3"]
    assert s3["s3SchemaVersion"] == "1.0"
    assert s3["configurationId"] == "on-upload"
    assert s3["bucket"]["name"] == "photos"
    assert s3["bucket"]["arn"] == "arn:aws:s3:::photos"
    assert set(s3["bucket"]["ownerIdentity"]) == {"principalId"}
    assert s3["object"]["key"] == "photos/my+holiday.jpg"  # URL-encoded, spaces as +
    assert s3["object"]["size"] == 2048
    assert s3["object"]["eTag"] == etag.strip('"')
    later = second["Records"][0]["s3"]["object"]["sequencer"]
    assert later > s3["object"]["sequencer"]
    (removed,) = delete["Records"]
    assert removed["eventName"] == "ObjectRemoved:Delete"
    assert removed["s3"]["configurationId"] == "on-delete"
    assert set(removed["s3"]["object"]) == {"key", "sequencer"}  # deletes: no size or eTag
