"""Functions: create, read, list, update, delete — every rule with AWS's message."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import zipfile

import pytest

from sandbox import FakeClock, Sandbox
from sandbox.errors import (
    InvalidParameterValueException,
    PreconditionFailedException,
    ResourceConflictException,
    ResourceNotFoundException,
    ValidationException,
)
from tests.conftest import HANDLER_SOURCE

ARN = "arn:aws:lambda:us-east-1:123456789012:function"


def _zip(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buf.getvalue()


def test_create_returns_aws_shaped_configuration(sb: Sandbox) -> None:
    cfg = sb.create_function(
        "hello",
        HANDLER_SOURCE,
        memory_size=256,
        timeout=10,
        environment={"Variables": {"STAGE": "dev"}},
        description="d",
    )
    assert cfg.function_name == "hello"
    assert cfg.function_arn == f"{ARN}:hello"
    assert cfg.version == "$LATEST"
    assert cfg.runtime == "python3.13"
    assert cfg.handler == "lambda_function.lambda_handler"
    assert cfg.role == "arn:aws:iam::123456789012:role/lambda-sandbox-role"
    assert cfg.environment == {"STAGE": "dev"}
    assert cfg.state == "Active" and cfg.last_update_status == "Successful"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", cfg.last_modified)
    doc = cfg.to_aws()
    assert doc["MemorySize"] == 256 and doc["Timeout"] == 10
    assert doc["Environment"] == {"Variables": {"STAGE": "dev"}}
    assert doc["EphemeralStorage"] == {"Size": 512}
    assert doc["LoggingConfig"] == {"LogFormat": "Text", "LogGroup": "/aws/lambda/hello"}


def test_code_sha256_is_base64_sha256_of_the_zip(sb: Sandbox) -> None:
    package = _zip({"lambda_function.py": HANDLER_SOURCE})
    cfg = sb.create_function("z", {"ZipFile": package})
    assert cfg.code_sha256 == base64.b64encode(hashlib.sha256(package).digest()).decode()
    assert cfg.code_size == len(package)
    got = sb.get_function("z")
    assert got.code.location is not None and got.code.location.startswith("file://")
    assert got.configuration == cfg


def test_runtimes_that_cannot_run_here(sb: Sandbox) -> None:
    sb.create_function("js", HANDLER_SOURCE, runtime="nodejs22.x", handler="index.handler")
    with pytest.raises(sb.exceptions.InvalidRuntimeException, match=r"nodejs22\.x is not"):
        sb.invoke("js")
    with pytest.raises(InvalidParameterValueException, match=re.escape("new runtime (nodejs22.x)")):
        sb.create_function("old-js", HANDLER_SOURCE, runtime="nodejs12.x")


def test_qualified_names_are_refused_where_aws_takes_a_function(sb: Sandbox) -> None:
    sb.create_function("fn", HANDLER_SOURCE, publish=True)
    with pytest.raises(InvalidParameterValueException, match="CreateAlias"):
        sb.create_alias("fn:1", "live", "1")
    with pytest.raises(InvalidParameterValueException, match="ListVersionsByFunction"):
        sb.list_versions_by_function("fn:1")


def test_plain_environment_mapping(sb: Sandbox) -> None:
    cfg = sb.create_function("env", HANDLER_SOURCE, environment={"Error": "loud"})
    assert cfg.environment == {"Error": "loud"}


def test_create_takes_a_notebook_function(sb: Sandbox) -> None:
    def greet(event, context):  # type: ignore[no-untyped-def]
        return {"hi": event["name"]}

    cfg = sb.create_function("greet", greet)
    assert cfg.handler == "lambda_function.greet"


def test_duplicate_function(sb: Sandbox) -> None:
    sb.create_function("dup", HANDLER_SOURCE)
    with pytest.raises(ResourceConflictException, match=r"^Function already exist: dup$"):
        sb.create_function("dup", HANDLER_SOURCE)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"memory_size": 127},
            ValidationException,
            "1 validation error detected: Value '127' at 'memorySize' failed to satisfy "
            "constraint: Member must have value greater than or equal to 128",
        ),
        (
            {"memory_size": 10241},
            InvalidParameterValueException,
            "'MemorySize' value failed to satisfy constraint: Member must have value less than or "
            "equal to 10240",
        ),
        (
            {"timeout": 0},
            ValidationException,
            "1 validation error detected: Value '0' at 'timeout' failed to satisfy constraint: "
            "Member must have value greater than or equal to 1",
        ),
        (
            {"timeout": 901},
            ValidationException,
            "Value '901' at 'timeout' failed to satisfy constraint: Member must have value less "
            "than or equal to 900",
        ),
        (
            {"description": "x" * 257},
            ValidationException,
            "at 'description' failed to satisfy constraint: Member must have length less than or "
            "equal to 256",
        ),
        (
            {"ephemeral_storage": {"Size": 511}},
            ValidationException,
            "Value '511' at 'ephemeralStorage.size' failed to satisfy constraint: Member must have "
            "value greater than or equal to 512",
        ),
        (
            {"ephemeral_storage": 10241},
            ValidationException,
            "Value '10241' at 'ephemeralStorage.size' failed to satisfy constraint: Member must "
            "have value less than or equal to 10240",
        ),
        (
            {"runtime": "python9"},
            ValidationException,
            "Value 'python9' at 'runtime' failed to satisfy constraint: Member must satisfy enum "
            "value set: [nodejs, nodejs4.3,",
        ),
        (
            {"runtime": "python3.7"},
            InvalidParameterValueException,
            "The runtime parameter of python3.7 is no longer supported for creating or updating "
            "AWS Lambda functions. We recommend you use the new runtime (python3.13) while "
            "creating or updating functions.",
        ),
        (
            {"handler": "has space.handler"},
            ValidationException,
            "Value 'has space.handler' at 'handler' failed to satisfy constraint: Member must "
            r"satisfy regular expression pattern: [^\s]+",
        ),
        (
            {"handler": "h" * 129},
            ValidationException,
            "at 'handler' failed to satisfy constraint: Member must have length less than or equal "
            "to 128",
        ),
        (
            {"role": "not-a-role"},
            ValidationException,
            "Value 'not-a-role' at 'role' failed to satisfy constraint: Member must satisfy "
            "regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::",
        ),
        (
            {"architectures": ["x86_64", "arm64"]},
            ValidationException,
            "at 'architectures' failed to satisfy constraint: Member must have length less than "
            "or equal to 1",
        ),
        (
            {"architectures": ["sparc"]},
            ValidationException,
            "Member must satisfy enum value set: [x86_64, arm64]",
        ),
        (
            {"environment": {"Variables": {"AWS_REGION": "eu-west-1"}}},
            InvalidParameterValueException,
            "Lambda was unable to configure your environment variables because the environment "
            "variables you have provided contains reserved keys that are currently not supported "
            "for modification. Reserved keys used in this request: AWS_REGION",
        ),
        (
            {"environment": {"Variables": {"1BAD": "x"}}},
            ValidationException,
            "at 'environment.variables' failed to satisfy constraint: Map keys must satisfy "
            "constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]",
        ),
        (
            {"environment": {"Variables": {"BIG": "x" * 4100}}},
            InvalidParameterValueException,
            "Lambda was unable to configure your environment variables because the environment "
            'variables you have provided exceeded the 4KB limit. String measured: {"BIG":"xxx',
        ),
        (
            {"layers": [f"arn:aws:lambda:us-east-1:123456789012:layer:l{i}:1" for i in range(6)]},
            InvalidParameterValueException,
            "Cannot reference more than 5 layers.",
        ),
        (
            {
                "layers": [
                    "arn:aws:lambda:us-east-1:123456789012:layer:l:1",
                    "arn:aws:lambda:us-east-1:123456789012:layer:l:2",
                ]
            },
            InvalidParameterValueException,
            "Two different versions of the same layer are not allowed to be referenced in the same "
            "function. arn:aws:lambda:us-east-1:123456789012:layer:l:1 and "
            "arn:aws:lambda:us-east-1:123456789012:layer:l:2 are versions of the same layer.",
        ),
        (
            {"layers": ["arn:aws:lambda:eu-west-1:123456789012:layer:l:1"]},
            InvalidParameterValueException,
            "Layers are not in the same region as the function.",
        ),
        (
            {"layers": ["arn:aws:lambda:us-east-1:123456789012:layer:l"]},
            ValidationException,
            "at 'layers' failed to satisfy constraint",
        ),
    ],
)
def test_create_validation(
    sb: Sandbox, kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=re.escape(message)):
        sb.create_function("bad", HANDLER_SOURCE, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ResourceNotFoundException):
        sb.get_function("bad")  # nothing half-written


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "has space",
            "Value 'has space' at 'functionName' failed to satisfy constraint: Member "
            "must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?",
        ),
        (
            "f" * 65,
            "at 'functionName' failed to satisfy constraint: Member must have length "
            "less than or equal to 64",
        ),
    ],
)
def test_create_name_rules(sb: Sandbox, name: str, message: str) -> None:
    with pytest.raises(ValidationException, match=re.escape(message)):
        sb.create_function(name, HANDLER_SOURCE)


def test_create_by_arn_and_in_another_region(sb: Sandbox) -> None:
    cfg = sb.create_function(f"{ARN}:by-arn", HANDLER_SOURCE)
    assert cfg.function_name == "by-arn"
    partial = sb.create_function("123456789012:function:by-partial-arn", HANDLER_SOURCE)
    assert partial.function_arn == f"{ARN}:by-partial-arn"
    with pytest.raises(InvalidParameterValueException, match="Qualifier is not supported"):
        sb.create_function("qualified:1", HANDLER_SOURCE)
    with pytest.raises(
        ResourceNotFoundException, match="Functions from 'eu-west-1' are not reachable"
    ):
        sb.create_function("arn:aws:lambda:eu-west-1:123456789012:function:x", HANDLER_SOURCE)


def test_get_missing_function_and_qualifiers(sb: Sandbox) -> None:
    with pytest.raises(
        ResourceNotFoundException, match=re.escape(f"Function not found: {ARN}:nope")
    ):
        sb.get_function("nope")
    sb.create_function("fn", HANDLER_SOURCE)
    with pytest.raises(
        ResourceNotFoundException, match=re.escape(f"Function not found: {ARN}:fn:$latest")
    ):
        sb.get_function_configuration("fn", "$latest")
    with pytest.raises(
        ResourceNotFoundException, match=re.escape(f"Function not found: {ARN}:fn:9")
    ):
        sb.get_function("fn:9")
    with pytest.raises(
        ResourceNotFoundException, match=re.escape(f"Function not found: {ARN}:fn:live")
    ):
        sb.get_function(f"{ARN}:fn", "live")
    assert sb.get_function_configuration("fn", "$LATEST").version == "$LATEST"


def test_update_configuration_changes_only_what_is_given(sb: Sandbox, clock: FakeClock) -> None:
    first = sb.create_function("fn", HANDLER_SOURCE, environment={"AA": "1"}, timeout=5)
    clock.advance(2)
    updated = sb.update_function_configuration("fn", memory_size=512, description="bigger")
    assert updated.memory_size == 512 and updated.timeout == 5
    assert updated.environment == {"AA": "1"}
    assert updated.revision_id != first.revision_id
    assert updated.last_modified != first.last_modified
    replaced = sb.update_function_configuration("fn", environment={"Variables": {"BB": "2"}})
    assert replaced.environment == {"BB": "2"}  # the whole map is replaced
    assert sb.get_function_configuration("fn") == replaced


def test_update_configuration_revision_precondition(sb: Sandbox) -> None:
    cfg = sb.create_function("fn", HANDLER_SOURCE)
    with pytest.raises(
        PreconditionFailedException,
        match=re.escape(
            "The Revision Id provided does not match the latest Revision Id. Call the "
            "GetFunction/GetAlias API to retrieve the latest Revision Id"
        ),
    ):
        sb.update_function_configuration("fn", timeout=9, revision_id="stale")
    sb.update_function_configuration("fn", timeout=9, revision_id=cfg.revision_id)
    with pytest.raises(ValidationException, match="at 'timeout'"):
        sb.update_function_configuration("fn", timeout=0)
    assert sb.get_function_configuration("fn").timeout == 9


def test_update_code(sb: Sandbox) -> None:
    cfg = sb.create_function("fn", HANDLER_SOURCE, handler="lambda_function.lambda_handler")
    new = sb.update_function_code("fn", "def lambda_handler(e, c):\n    return 2\n")
    assert new.code_sha256 != cfg.code_sha256
    assert new.handler == cfg.handler  # the handler setting is kept, as on AWS
    dry = sb.update_function_code("fn", "def lambda_handler(e, c):\n    return 3\n", dry_run=True)
    assert sb.get_function_configuration("fn").code_sha256 == new.code_sha256 != dry.code_sha256
    published = sb.update_function_code(
        "fn", zip_file=_zip({"lambda_function.py": "x = 1\n"}), publish=True
    )
    assert published.version == "1"
    with pytest.raises(InvalidParameterValueException, match="Qualifier is not supported"):
        sb.update_function_code("fn:1", HANDLER_SOURCE)


def test_list_functions_paginates(sb: Sandbox) -> None:
    for i in range(7):
        sb.create_function(f"f{i}", HANDLER_SOURCE)
    page = sb.list_functions(max_items=3)
    names = [f.function_name for f in page.functions]
    while page.next_marker:
        page = sb.list_functions(marker=page.next_marker, max_items=3)
        names += [f.function_name for f in page.functions]
    assert names == [f"f{i}" for i in range(7)]
    with pytest.raises(ValidationException, match="at 'maxItems'"):
        sb.list_functions(max_items=0)


def test_list_functions_all_versions(sb: Sandbox) -> None:
    sb.create_function("a", HANDLER_SOURCE, publish=True)
    arns = [f.function_arn for f in sb.list_functions(function_version="ALL").functions]
    assert arns == [f"{ARN}:a:$LATEST", f"{ARN}:a:1"]
    assert [f.function_arn for f in sb.list_functions().functions] == [f"{ARN}:a"]


def test_delete_function(sb: Sandbox) -> None:
    sb.create_function("fn", HANDLER_SOURCE, publish=True)
    sb.create_alias("fn", "live", "1")
    with pytest.raises(
        InvalidParameterValueException,
        match=re.escape("$LATEST version cannot be deleted without deleting the function."),
    ):
        sb.delete_function("fn", "$LATEST")
    sb.delete_function("fn")
    with pytest.raises(ResourceNotFoundException):
        sb.get_function("fn")
    with pytest.raises(ResourceNotFoundException, match=re.escape(f"Function not found: {ARN}:fn")):
        sb.delete_function("fn")
    again = sb.create_function("fn", HANDLER_SOURCE, publish=True)
    assert again.version == "1"  # a new function starts counting again
    assert sb.list_aliases("fn").aliases == ()


def test_state_survives_reopening_the_store(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with Sandbox(tmp_path) as first:
        first.create_function("keep", HANDLER_SOURCE, publish=True)
        first.create_alias("keep", "live", "1")
    with Sandbox(tmp_path) as second:
        assert second.get_alias("keep", "live").function_version == "1"
        assert [v.version for v in second.list_versions_by_function("keep").versions] == [
            "$LATEST",
            "1",
        ]


def test_accounts_are_separate_in_one_store(sb: Sandbox) -> None:
    other = sb.for_account("210987654321")
    other.create_function("mine", HANDLER_SOURCE)
    with pytest.raises(ResourceNotFoundException):
        sb.get_function("mine")
    assert other.get_function("mine").configuration.function_arn == (
        "arn:aws:lambda:us-east-1:210987654321:function:mine"
    )


def test_close_is_idempotent_and_removes_ephemeral_home() -> None:
    sb = Sandbox.ephemeral()
    sb.create_function("fn", HANDLER_SOURCE)
    sb.get_function_configuration("fn")
    home = sb.home
    assert home.exists()
    sb.close()
    sb.close()
    assert not home.exists()
    assert sb.closed
    with pytest.raises(sb.exceptions.SandboxClosedError):
        sb.get_function("fn")
