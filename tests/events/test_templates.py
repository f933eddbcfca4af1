"""Every template is exactly a service event: JSON, the fields its service sends with the
right types, and derived fields that agree with what they derive from (spec §9)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest

import sandbox
from sandbox import events
from sandbox.events import CATALOGUE, decode_awslogs, md5_of_message_attributes, validate

TEMPLATES = Path(sandbox.__file__).parent / "events" / "templates"
ARN = re.compile(
    r"^arn:aws:(?P<service>[a-z0-9-]+):(?P<region>[a-z0-9-]*):(?P<account>\d{12}|):.+$"
)


def test_kinds_cover_every_template_file() -> None:
    files = sorted(p.name for p in TEMPLATES.glob("*.json"))
    assert sorted(CATALOGUE[k].file for k in events.kinds()) == files
    assert len(files) == 18


@pytest.mark.parametrize("kind", events.kinds())
def test_template_is_json_and_valid(kind: str) -> None:
    text = (TEMPLATES / CATALOGUE[kind].file).read_text()
    event = json.loads(text)
    assert isinstance(event, dict)
    assert validate(kind, event) == []
    assert events.template(kind) == event
    assert CATALOGUE[kind].source.startswith("https://docs.aws.amazon.com/")


@pytest.mark.parametrize("kind", events.kinds())
@pytest.mark.parametrize("source", ["template", "generated"])
def test_arns_are_in_the_account_and_region(kind: str, source: str) -> None:
    if source == "template":
        event = events.template(kind)
        account, region = "123456789012", "us-east-1"
    else:
        account, region = "210987654321", "eu-west-3"
        event = events.generate(kind, account_id=account, region=region)
    arns = [s for s in _strings(event) if s.startswith("arn:")]
    if kind == "cloudwatch-logs":
        arns = []  # no ARN in the subscription payload
    for arn in arns:
        match = ARN.match(arn)
        assert match, arn
        if match["service"] == "s3":  # bucket ARNs have no region and no account
            assert arn.startswith("arn:aws:s3:::")
            continue
        assert match["account"] == account, arn
        if match["service"] != "iam":
            assert match["region"] == region, arn


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_sqs_digests_match_the_body_and_attributes() -> None:
    record = events.template("sqs")["Records"][0]
    assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()
    assert record["md5OfMessageAttributes"] == md5_of_message_attributes(
        record["messageAttributes"]
    )


def test_kinesis_data_is_base64_and_ids_agree() -> None:
    record = events.template("kinesis")["Records"][0]
    assert json.loads(base64.b64decode(record["kinesis"]["data"], validate=True))
    assert record["eventID"] == f"shardId-000000000000:{record['kinesis']['sequenceNumber']}"
    assert record["kinesis"]["sequenceNumber"].isdigit()


def test_cloudwatch_logs_data_is_base64_of_gzipped_json() -> None:
    payload = decode_awslogs(events.template("cloudwatch-logs"))
    assert payload["messageType"] == "DATA_MESSAGE"
    assert payload["owner"] == "123456789012"
    assert all(isinstance(e["message"], str) for e in payload["logEvents"])


@pytest.mark.parametrize("kind", ["dynamodb-insert", "dynamodb-modify", "dynamodb-remove"])
def test_dynamodb_images_hold_the_keys(kind: str) -> None:
    record = events.template(kind)["Records"][0]
    ddb = record["dynamodb"]
    images = {"dynamodb-insert": ["NewImage"], "dynamodb-modify": ["NewImage", "OldImage"],
              "dynamodb-remove": ["OldImage"]}[kind]  # fmt: skip
    assert sorted(k for k in ddb if k.endswith("Image")) == sorted(images)
    for image in images:
        assert ddb["Keys"].items() <= ddb[image].items()
    assert record["eventName"] == kind.split("-")[1].upper()
    assert ddb["SequenceNumber"].isdigit()


def test_s3_delete_has_no_size_or_etag() -> None:
    obj = events.template("s3-delete")["Records"][0]["s3"]["object"]
    assert "size" not in obj and "eTag" not in obj
    assert events.template("s3-put")["Records"][0]["eventName"] == "ObjectCreated:Put"
