"""The Lambda REST endpoint driven by unmodified boto3: the control plane (no processes).

Every call goes through botocore's real serializer and parser, so a path, a status code,
a header or a JSON shape the endpoint gets wrong fails here as it would for a student."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sandbox import Sandbox
from sandbox.http.server import EndpointServer
from tests.http.test_lambda_api_helpers import ROLE, client, create, error_of, serving, zipped

pytestmark = pytest.mark.timeout(60)
ARN = "arn:aws:lambda:us-east-1:123456789012:function"


@pytest.fixture
def server(sb: Sandbox) -> Iterator[EndpointServer]:
    with serving(sb) as endpoint:
        yield endpoint


@pytest.fixture
def lam(server: EndpointServer) -> Any:
    return client(server.url)


def test_function_lifecycle(lam: Any, sb: Sandbox) -> None:
    created = create(lam, "fn", Description="d", Timeout=7, Environment={"Variables": {"AB": "1"}})
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["FunctionArn"] == f"{ARN}:fn"
    assert created["Timeout"] == 7 and created["Environment"] == {"Variables": {"AB": "1"}}
    assert isinstance(created["LastModified"], str)  # a string in the model, not a timestamp
    assert sb.get_function_configuration("fn").timeout == 7  # the same store

    got = lam.get_function(FunctionName="fn")
    assert got["Configuration"]["CodeSha256"] == created["CodeSha256"]
    assert got["Code"]["RepositoryType"] == "S3"
    assert lam.get_function_configuration(FunctionName=f"{ARN}:fn")["Description"] == "d"
    assert [f["FunctionName"] for f in lam.list_functions()["Functions"]] == ["fn"]

    updated = lam.update_function_configuration(FunctionName="fn", MemorySize=256)
    assert updated["MemorySize"] == 256
    code = lam.update_function_code(FunctionName="fn", ZipFile=zipped("x = 1\n"))
    assert code["CodeSha256"] != created["CodeSha256"]

    deleted = lam.delete_function(FunctionName="fn")
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == deleted["StatusCode"] == 204
    with pytest.raises(ClientError) as exc:
        lam.get_function(FunctionName="fn")
    assert error_of(exc) == ("ResourceNotFoundException", f"Function not found: {ARN}:fn", 404)


def test_paginator_and_list_versions(lam: Any) -> None:
    for n in range(3):
        create(lam, f"fn{n}")
    pages = lam.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 2})
    names = [f["FunctionName"] for page in pages for f in page["Functions"]]
    assert sorted(names) == ["fn0", "fn1", "fn2"]
    assert lam.publish_version(FunctionName="fn0", Description="v1")["Version"] == "1"
    versions = lam.list_versions_by_function(FunctionName="fn0")["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1"]


def test_errors_are_aws_shaped(lam: Any, server: Any) -> None:
    create(lam, "fn")
    with pytest.raises(ClientError) as exc:
        create(lam, "fn")
    code, message, status = error_of(exc)
    assert (code, status) == ("ResourceConflictException", 409)
    assert message == "Function already exist: fn"
    with pytest.raises(ClientError) as exc:
        lam.update_function_configuration(FunctionName="fn", Timeout=901)
    code, message, status = error_of(exc)
    assert (code, status) == ("ValidationException", 400)
    assert "Value '901' at 'timeout'" in message
    with pytest.raises(ClientError) as exc:
        lam.get_function(FunctionName="fn", Qualifier="9")
    assert error_of(exc)[0] == "ResourceNotFoundException"
    assert exc.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == (
        "ResourceNotFoundException"
    )


def test_tags_and_an_unimplemented_operation(lam: Any) -> None:
    create(lam, "fn", Tags={"team": "a"})
    lam.tag_resource(Resource=f"{ARN}:fn", Tags={"b": "c", "team": "z"})
    assert lam.list_tags(Resource=f"{ARN}:fn")["Tags"] == {"team": "z", "b": "c"}
    lam.untag_resource(Resource=f"{ARN}:fn", TagKeys=["team", "missing"])
    assert lam.list_tags(Resource=f"{ARN}:fn")["Tags"] == {"b": "c"}
    assert lam.get_function(FunctionName="fn")["Tags"] == {"b": "c"}
    with pytest.raises(ClientError) as exc:
        lam.list_tags(Resource=f"{ARN}:fn:1")
    assert error_of(exc)[0] == "InvalidParameterValueException"
    assert "not an unqualified function ARN" in error_of(exc)[1]
    with pytest.raises(ClientError) as exc:
        lam.tag_resource(Resource=f"{ARN}:fn", Tags={"aws:owner": "x"})
    assert "reserved prefix" in error_of(exc)[1]
    with pytest.raises(ClientError) as exc:
        lam.tag_resource(Resource=f"{ARN}:fn", Tags={f"k{i}": "v" for i in range(50)})
    assert "at most 50 tags" in error_of(exc)[1]
    with pytest.raises(ClientError) as exc:
        lam.tag_resource(Resource=f"{ARN}:ghost", Tags={"a": "b"})
    assert error_of(exc)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        lam.invoke_with_response_stream(FunctionName="fn")
    code, message, status = error_of(exc)
    assert (code, status) == ("NotImplementedException", 501)
    assert message == (
        "The sandbox does not implement the Lambda operation InvokeWithResponseStream"
    )
    with pytest.raises(ClientError) as exc:
        create(lam, "other", VpcConfig={"SubnetIds": ["s"]})
    assert error_of(exc)[:2] == (
        "InvalidParameterValueException",
        "The sandbox does not support VpcConfig in CreateFunction",
    )


def test_aliases_with_routing(lam: Any) -> None:
    create(lam, "fn")
    lam.publish_version(FunctionName="fn")
    lam.update_function_configuration(FunctionName="fn", Description="two")
    lam.publish_version(FunctionName="fn")
    alias = lam.create_alias(
        FunctionName="fn",
        Name="live",
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.25}},
    )
    assert alias["AliasArn"] == f"{ARN}:fn:live"
    assert alias["RoutingConfig"] == {"AdditionalVersionWeights": {"2": 0.25}}
    assert lam.get_alias(FunctionName="fn", Name="live")["FunctionVersion"] == "1"
    moved = lam.update_alias(
        FunctionName="fn",
        Name="live",
        FunctionVersion="2",
        RoutingConfig={"AdditionalVersionWeights": {}},
    )
    assert moved["FunctionVersion"] == "2"
    assert [a["Name"] for a in lam.list_aliases(FunctionName="fn")["Aliases"]] == ["live"]
    lam.delete_alias(FunctionName="fn", Name="live")
    assert lam.list_aliases(FunctionName="fn")["Aliases"] == []


def test_concurrency_and_account_settings(lam: Any) -> None:
    create(lam, "fn")
    put = lam.put_function_concurrency(FunctionName="fn", ReservedConcurrentExecutions=5)
    assert put["ReservedConcurrentExecutions"] == 5
    assert lam.get_function_concurrency(FunctionName="fn")["ReservedConcurrentExecutions"] == 5
    settings = lam.get_account_settings()
    assert settings["AccountLimit"]["ConcurrentExecutions"] == 1000
    assert settings["AccountLimit"]["UnreservedConcurrentExecutions"] == 995
    lam.delete_function_concurrency(FunctionName="fn")
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName="fn")
    with pytest.raises(ClientError) as exc:
        lam.put_function_concurrency(FunctionName="fn", ReservedConcurrentExecutions=1000)
    assert error_of(exc)[0] == "InvalidParameterValueException"


def test_layers_and_layer_permissions(lam: Any) -> None:
    published = lam.publish_layer_version(
        LayerName="libs",
        Content={"ZipFile": zipped("X = 1\n", "python/libx.py")},
        CompatibleRuntimes=["python3.12"],
    )
    assert published["ResponseMetadata"]["HTTPStatusCode"] == 201
    arn = published["LayerVersionArn"]
    assert arn.endswith(":layer:libs:1") and published["Version"] == 1
    assert lam.get_layer_version(LayerName="libs", VersionNumber=1)["LayerVersionArn"] == arn
    assert lam.get_layer_version_by_arn(Arn=arn)["Version"] == 1
    assert [lay["LayerName"] for lay in lam.list_layers()["Layers"]] == ["libs"]
    assert [v["Version"] for v in lam.list_layer_versions(LayerName="libs")["LayerVersions"]] == [1]
    granted = lam.add_layer_version_permission(
        LayerName="libs",
        VersionNumber=1,
        StatementId="all",
        Action="lambda:GetLayerVersion",
        Principal="*",
    )
    assert '"Sid":"all"' in granted["Statement"].replace(" ", "")
    assert "all" in lam.get_layer_version_policy(LayerName="libs", VersionNumber=1)["Policy"]
    lam.remove_layer_version_permission(LayerName="libs", VersionNumber=1, StatementId="all")
    create(lam, "uses", Layers=[arn])
    assert lam.get_function(FunctionName="uses")["Configuration"]["Layers"][0]["Arn"] == arn
    lam.delete_layer_version(LayerName="libs", VersionNumber=1)
    with pytest.raises(ClientError) as exc:
        lam.get_layer_version(LayerName="libs", VersionNumber=1)
    assert error_of(exc)[0] == "ResourceNotFoundException"


def test_function_permissions(lam: Any) -> None:
    create(lam, "fn")
    added = lam.add_permission(
        FunctionName="fn",
        StatementId="s3",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn="arn:aws:s3:::bucket",
    )
    assert added["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert "s3.amazonaws.com" in added["Statement"]
    assert '"Sid":"s3"' in lam.get_policy(FunctionName="fn")["Policy"].replace(" ", "")
    lam.remove_permission(FunctionName="fn", StatementId="s3")
    with pytest.raises(ClientError) as exc:
        lam.get_policy(FunctionName="fn")
    assert error_of(exc)[0] == "ResourceNotFoundException"


def test_event_invoke_configs(lam: Any) -> None:
    create(lam, "fn")
    create(lam, "sink")
    dest = {"OnFailure": {"Destination": f"{ARN}:sink"}}
    put = lam.put_function_event_invoke_config(
        FunctionName="fn", MaximumRetryAttempts=1, DestinationConfig=dest
    )
    assert put["MaximumRetryAttempts"] == 1
    assert isinstance(put["LastModified"], datetime)  # a timestamp in the model
    got = lam.get_function_event_invoke_config(FunctionName="fn")
    assert got["DestinationConfig"]["OnFailure"]["Destination"] == f"{ARN}:sink"
    updated = lam.update_function_event_invoke_config(
        FunctionName="fn", MaximumEventAgeInSeconds=120
    )
    assert updated["MaximumEventAgeInSeconds"] == 120
    listed = lam.list_function_event_invoke_configs(FunctionName="fn")
    assert len(listed["FunctionEventInvokeConfigs"]) == 1
    lam.delete_function_event_invoke_config(FunctionName="fn")
    with pytest.raises(ClientError) as exc:
        lam.get_function_event_invoke_config(FunctionName="fn")
    assert error_of(exc)[0] == "ResourceNotFoundException"


def test_event_source_mappings(lam: Any, sb: Sandbox) -> None:
    create(lam, "fn")
    queue_url = sb.sqs.create_queue("jobs")["QueueUrl"]
    queue_arn = sb.sqs.get_queue_attributes(queue_url, ["QueueArn"])["Attributes"]["QueueArn"]
    made = lam.create_event_source_mapping(
        FunctionName="fn", EventSourceArn=queue_arn, BatchSize=5, Enabled=False
    )
    assert made["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert made["BatchSize"] == 5 and made["FunctionArn"] == f"{ARN}:fn"
    assert isinstance(made["LastModified"], datetime)
    uuid = made["UUID"]
    assert lam.get_event_source_mapping(UUID=uuid)["EventSourceArn"] == queue_arn
    assert lam.update_event_source_mapping(UUID=uuid, BatchSize=7)["BatchSize"] == 7
    listed = lam.list_event_source_mappings(FunctionName="fn")["EventSourceMappings"]
    assert [m["UUID"] for m in listed] == [uuid]
    deleted = lam.delete_event_source_mapping(UUID=uuid)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 202
    with pytest.raises(ClientError) as exc:
        lam.get_event_source_mapping(UUID="00000000-0000-0000-0000-000000000000")
    assert error_of(exc)[0] == "ResourceNotFoundException"


def test_function_url_configs(lam: Any) -> None:
    create(lam, "fn")
    made = lam.create_function_url_config(
        FunctionName="fn", AuthType="NONE", Cors={"AllowOrigins": ["*"]}
    )
    assert made["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert made["AuthType"] == "NONE" and made["FunctionUrl"].startswith("http")
    assert lam.get_function_url_config(FunctionName="fn")["Cors"]["AllowOrigins"] == ["*"]
    updated = lam.update_function_url_config(FunctionName="fn", AuthType="AWS_IAM")
    assert updated["AuthType"] == "AWS_IAM"
    assert len(lam.list_function_url_configs(FunctionName="fn")["FunctionUrlConfigs"]) == 1
    lam.delete_function_url_config(FunctionName="fn")
    with pytest.raises(ClientError) as exc:
        lam.get_function_url_config(FunctionName="fn")
    assert error_of(exc)[0] == "ResourceNotFoundException"


def test_other_account_from_access_key(server: Any, sb: Sandbox) -> None:
    other = client(server.url, key="210987654321")
    create(other, "theirs")
    assert other.get_function(FunctionName="theirs")["Configuration"]["FunctionArn"] == (
        "arn:aws:lambda:us-east-1:210987654321:function:theirs"
    )
    assert sb.list_functions().functions == ()
    assert ROLE
