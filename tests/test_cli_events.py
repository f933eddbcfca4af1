"""``lambda-sandbox generate-event``, in the spirit of ``sam local generate-event``."""

from __future__ import annotations

import json
from urllib.parse import unquote_plus

import pytest

from sandbox.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> dict:  # type: ignore[type-arg]
    assert main(["generate-event", *args]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_sam_style_names(capsys: pytest.CaptureFixture[str]) -> None:
    event = run(capsys, "s3", "put", "--bucket", "photos", "--key", "my cat.jpg", "--size", "7")
    obj = event["Records"][0]["s3"]["object"]
    assert unquote_plus(obj["key"]) == "my cat.jpg" and obj["size"] == 7
    event = run(capsys, "sqs", "receive-message", "--body", "hello", "--count", "2")
    assert [r["body"] for r in event["Records"]] == ["hello", "hello"]
    event = run(capsys, "apigateway", "aws-proxy", "--method", "POST", "--path", "/p",
                "--query", '{"a": "1"}')  # fmt: skip
    assert (event["httpMethod"], event["path"]) == ("POST", "/p")
    assert event["queryStringParameters"] == {"a": "1"}
    assert run(capsys, "cloudformation", "delete-request")["RequestType"] == "Delete"
    assert run(capsys, "cloudwatch", "scheduled-event")["detail-type"] == "Scheduled Event"


def test_kinds_and_flags(capsys: pytest.CaptureFixture[str]) -> None:
    event = run(capsys, "dynamodb-insert", "--new-image", '{"pk": "a", "n": 1}')
    assert event["Records"][0]["dynamodb"]["NewImage"]["n"] == {"N": "1"}
    event = run(capsys, "sqs", "--fifo", "--body", "x")
    assert event["Records"][0]["eventSourceARN"].endswith(".fifo")
    assert run(capsys, "dynamodb", "insert")["Records"][0]["eventName"] == "INSERT"


def test_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate-event", "nope"]) == 2
    assert "unknown event kind 'nope'" in capsys.readouterr().err
    assert main(["generate-event", "sqs", "--bucket", "b"]) == 2
    assert "has no field 'bucket'" in capsys.readouterr().err
    assert main(["generate-event", "sqs", "stray"]) == 2


def test_field_pairs(capsys: pytest.CaptureFixture[str]) -> None:
    event = run(capsys, "sqs", "--field", "body=hi there", "--field", "count=2")
    assert [r["body"] for r in event["Records"]] == ["hi there", "hi there"]
    event = run(capsys, "s3-put", "--field", "bucket=photos", "--key", "a.jpg")
    assert event["Records"][0]["s3"]["bucket"]["name"] == "photos"
    assert main(["generate-event", "sqs", "--field", "body"]) == 2
    assert "expected --field name=value" in capsys.readouterr().err
    assert main(["generate-event", "sqs", "--field"]) == 2
    assert "expected --field name=value" in capsys.readouterr().err


def test_list_kinds(capsys: pytest.CaptureFixture[str]) -> None:
    from sandbox import events

    assert main(["generate-event", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["Kind", "Service", "Invocation"]
    assert [line.split()[0] for line in lines[2:]] == events.kinds()
    sqs = next(line for line in lines if line.startswith("sqs "))
    assert "Amazon SQS" in sqs and "event source mapping" in sqs
    assert main(["generate-event"]) == 2
    assert "needs a SERVICE or kind (--list shows them)" in capsys.readouterr().err
