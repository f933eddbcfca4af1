"""Layers (spec §6): publishing, listing, deleting, sharing, and what functions see at /opt."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import pytest
from zips import exact, lying_bomb, make_zip, unix_zip

from sandbox import Sandbox, errors

B = "210987654321"  # the consumer account of the sharing stories


def zip_of(files: dict[str, str], executable: tuple[str, ...] = ()) -> bytes:
    return unix_zip(dict(files), executable)


HELPER = zip_of({"python/helper.py": "WHO = 'helper v1'\n"})

READER = """
import os, sys
OPT = os.environ.get("LAMBDA_SANDBOX_OPT", "/opt")

def lambda_handler(event, context):
    out = {"path": sys.path[:4], "opt": OPT, "PATH": os.environ["PATH"],
           "LD": os.environ["LD_LIBRARY_PATH"]}
    for name in event.get("read", []):
        with open(os.path.join(OPT, name)) as f:
            out[name] = f.read()
    for module in event.get("import", []):
        out[module] = __import__(module).WHO
    if event.get("write"):
        try:
            open(os.path.join(OPT, "python", "new.txt"), "w").write("x")
            out["wrote"] = True
        except OSError as exc:
            out["wrote"] = type(exc).__name__
    if event.get("run"):
        import subprocess
        out["ran"] = subprocess.run([event["run"]], capture_output=True, text=True).stdout
    return out
"""


def invoke(sb: Sandbox, name: str, event: dict[str, object]) -> dict[str, object]:
    result = sb.invoke(name, event)
    assert result.function_error is None, result.payload
    payload = result.payload
    assert isinstance(payload, dict)
    return payload


# --- publishing and reading -------------------------------------------------------------------


def test_publish_returns_aws_shape_and_every_call_makes_a_new_version(sb: Sandbox) -> None:
    first = sb.publish_layer_version(
        "helpers",
        {"ZipFile": HELPER},
        description="shared helpers",
        compatible_runtimes=["python3.12", "python3.13"],
        compatible_architectures=["x86_64"],
        license_info="MIT",
    )
    again = sb.publish_layer_version("helpers", HELPER)  # identical content: still new
    doc = first.to_aws()
    assert doc["LayerArn"] == "arn:aws:lambda:us-east-1:123456789012:layer:helpers"
    assert doc["LayerVersionArn"] == "arn:aws:lambda:us-east-1:123456789012:layer:helpers:1"
    assert doc["Version"] == 1 and again.version == 2
    content = doc["Content"]
    assert isinstance(content, dict)
    assert content["CodeSize"] == len(HELPER)
    assert content["CodeSha256"] == again.code_sha256
    assert str(content["Location"]).startswith("file://")
    assert Path(str(content["Location"]).removeprefix("file://")).read_bytes() == HELPER
    assert doc["CompatibleRuntimes"] == ["python3.12", "python3.13"]
    assert doc["LicenseInfo"] == "MIT" and doc["Description"] == "shared helpers"
    assert sb.get_layer_version("helpers", 1) == first
    assert sb.get_layer_version_by_arn(first.layer_version_arn) == first
    assert sb.get_layer_version(first.layer_arn, 2) == again


def test_content_may_be_a_directory_or_a_zip_path(sb: Sandbox, tmp_path: Path) -> None:
    (tmp_path / "layer" / "python").mkdir(parents=True)
    (tmp_path / "layer" / "python" / "helper.py").write_text("WHO = 'from a directory'\n")
    (tmp_path / "layer.zip").write_bytes(HELPER)
    from_dir = sb.publish_layer_version("d", tmp_path / "layer")
    from_zip = sb.publish_layer_version("z", str(tmp_path / "layer.zip"))
    with zipfile.ZipFile(io.BytesIO(sb._shared.artifacts.get(from_dir.code_sha256_hex))) as zf:
        assert zf.namelist() == ["python/helper.py"]
    assert from_zip.code_sha256 == sb.publish_layer_version("z", HELPER).code_sha256


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("def f(e, c):\n    return 1\n", "Layer content cannot be source text"),
        (lambda e, c: 1, "Layer content cannot be a function object"),
        ("/no/such/layer.zip", "Layer content path does not exist: '/no/such/layer.zip'"),
        (b"not a zip", "Could not unzip uploaded file."),
        ({"S3Bucket": "b", "S3Key": "k"}, "lambda-sandbox has no S3 or ECR"),
    ],
)
def test_content_that_is_not_a_layer_is_refused(sb: Sandbox, content: object, message: str) -> None:
    with pytest.raises(errors.InvalidParameterValueException, match=message):
        sb.publish_layer_version("bad", content)
    assert sb.list_layers().layers == ()


def test_hostile_layer_zips_are_refused_and_leave_nothing(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    climbing = make_zip([("../evil.py", b"x", 0o100644)])
    with pytest.raises(errors.InvalidParameterValueException, match=r"has a '\.\.' path component"):
        sb.publish_layer_version("bad", climbing)
    escaping = make_zip([("python/link", b"../../etc/passwd", 0o120777)])
    with pytest.raises(errors.InvalidParameterValueException, match="outside the package"):
        sb.publish_layer_version("bad", escaping)
    monkeypatch.setattr("sandbox.store.packaging.MAX_UNZIPPED_SIZE", 1 << 20)
    with pytest.raises(
        errors.InvalidParameterValueException,
        match=exact(f"Unzipped size must be smaller than {1 << 20} bytes"),
    ):
        sb.publish_layer_version("bad", lying_bomb(4))
    assert sb.list_layers().layers == ()
    assert sb.list_layer_versions("bad").layer_versions == ()


@pytest.mark.parametrize(
    ("kwargs", "member"),
    [
        ({"description": "x" * 257}, "description"),
        ({"compatible_runtimes": ["python2.0"]}, "compatibleRuntimes"),
        ({"compatible_runtimes": ["python3.13"] * 16}, "compatibleRuntimes"),
        ({"compatible_architectures": ["sparc"]}, "compatibleArchitectures"),
        ({"compatible_architectures": ["x86_64", "arm64", "x86_64"]}, "compatibleArchitectures"),
        ({"license_info": "x" * 513}, "licenseInfo"),
    ],
)
def test_metadata_is_validated(sb: Sandbox, kwargs: dict[str, object], member: str) -> None:
    with pytest.raises(errors.ValidationException, match=f"at '{member}' failed"):
        sb.publish_layer_version("meta", HELPER, **kwargs)  # type: ignore[arg-type]


def test_names_numbers_and_missing_versions(sb: Sandbox) -> None:
    with pytest.raises(errors.ValidationException, match="at 'layerName' failed"):
        sb.publish_layer_version("no spaces", HELPER)
    sb.publish_layer_version("helpers", HELPER)
    with pytest.raises(errors.InvalidParameterValueException, match="Cannot be less than 1"):
        sb.get_layer_version("helpers", 0)
    with pytest.raises(
        errors.ResourceNotFoundException, match=exact("The resource you requested does not exist.")
    ):
        sb.get_layer_version("helpers", 2)
    with pytest.raises(errors.ValidationException, match="at 'arn' failed"):
        sb.get_layer_version_by_arn("arn:aws:lambda:us-east-1:123456789012:layer:helpers")


def test_numbers_are_never_reused_and_delete_is_idempotent(sb: Sandbox) -> None:
    for _ in range(2):
        sb.publish_layer_version("helpers", HELPER)
    sb.delete_layer_version("helpers", 1)
    sb.delete_layer_version("helpers", 2)
    sb.delete_layer_version("helpers", 2)  # again: still 204
    sb.delete_layer_version("helpers", 99)  # never existed: still 204
    assert sb.list_layers().layers == ()
    assert sb.publish_layer_version("helpers", HELPER).version == 3
    with pytest.raises(errors.ResourceNotFoundException):
        sb.get_layer_version("helpers", 1)


def test_listing_filters_and_pages(sb: Sandbox) -> None:
    sb.publish_layer_version("a", HELPER, compatible_runtimes=["python3.12"])
    sb.publish_layer_version("a", HELPER, compatible_runtimes=["python3.13"])
    sb.publish_layer_version("b", HELPER, compatible_architectures=["arm64"])
    listed = sb.list_layers()
    assert [(s.layer_name, s.latest_matching_version.version) for s in listed.layers] == [
        ("a", 2),
        ("b", 1),
    ]
    by_runtime = sb.list_layers(compatible_runtime="python3.12").layers
    assert [(s.layer_name, s.latest_matching_version.version) for s in by_runtime] == [("a", 1)]
    assert [s.layer_name for s in sb.list_layers(compatible_architecture="arm64").layers] == ["b"]
    assert [v.version for v in sb.list_layer_versions("a").layer_versions] == [2, 1]
    first = sb.list_layer_versions("a", max_items=1)
    assert [v.version for v in first.layer_versions] == [2] and first.next_marker
    rest = sb.list_layer_versions("a", marker=first.next_marker)
    assert [v.version for v in rest.layer_versions] == [1] and rest.next_marker is None
    with pytest.raises(errors.ValidationException, match="at 'maxItems' failed"):
        sb.list_layers(max_items=51)
    with pytest.raises(errors.ValidationException, match="at 'compatibleRuntime' failed"):
        sb.list_layers(compatible_runtime="cobol")
    item = sb.list_layers().to_aws()["Layers"]
    assert isinstance(item, list)
    assert set(item[0]) == {"LayerName", "LayerArn", "LatestMatchingVersion"}


# --- functions that use layers -----------------------------------------------------------------


def test_layers_extract_in_order_later_wins_and_paths_are_aws_s(sb: Sandbox) -> None:
    one = sb.publish_layer_version(
        "one",
        zip_of(
            {
                "python/helper.py": "WHO = 'one'\n",
                "data/shared.txt": "from one",
                "data/only-one.txt": "kept",
                "bin/hello": "#!/bin/sh\necho hello from a layer\n",
            },
            executable=("bin/hello",),
        ),
    )
    two = sb.publish_layer_version(
        "two",
        zip_of(
            {
                "python/lib/python3.13/site-packages/vendored.py": "WHO = 'site-packages'\n",
                "data/shared.txt": "from two",
            }
        ),
    )
    sb.create_function("reader", READER, layers=[one.layer_version_arn, two.layer_version_arn])
    out = invoke(
        sb,
        "reader",
        {
            "read": ["data/shared.txt", "data/only-one.txt"],
            "import": ["helper", "vendored"],
            "write": True,
            "run": "hello",
        },
    )
    opt = str(out["opt"])
    assert out["data/shared.txt"] == "from two"  # the later layer wins
    assert out["data/only-one.txt"] == "kept"  # directories merge
    assert out["helper"] == "one" and out["vendored"] == "site-packages"
    assert out["path"][1:3] == [f"{opt}/python/lib/python3.13/site-packages", f"{opt}/python"]  # type: ignore[index]
    assert f"{opt}/bin" in str(out["PATH"]).split(":")
    assert f"{opt}/lib" in str(out["LD"]).split(":")
    assert out["ran"] == "hello from a layer\n"
    if sb.isolation == "namespaces" or os.geteuid() != 0:
        assert out["wrote"] in ("PermissionError", "OSError")
    if sb.isolation == "namespaces":
        assert opt == "/opt"


def test_the_merged_opt_is_built_once_and_shared(sb: Sandbox) -> None:
    one = sb.publish_layer_version("one", zip_of({"a.txt": "1"}))
    two = sb.publish_layer_version("two", zip_of({"b.txt": "2"}))
    store = sb._shared.artifacts
    shas = [one.code_sha256_hex, two.code_sha256_hex]
    merged = store.layered(shas)
    assert merged is not None and store.layered(shas) == merged
    assert sorted(os.listdir(merged)) == ["a.txt", "b.txt"]
    assert os.stat(merged / "a.txt").st_ino == os.stat(store.extracted(shas[0]) / "a.txt").st_ino
    assert store.layered([shas[0]]) == store.extracted(shas[0])
    assert store.layered([]) is None


def test_function_layer_rules(sb: Sandbox, make_function) -> None:  # type: ignore[no-untyped-def]
    arns = [sb.publish_layer_version(f"l{i}", HELPER).layer_version_arn for i in range(6)]
    with pytest.raises(
        errors.InvalidParameterValueException, match=exact("Cannot reference more than 5 layers.")
    ):
        make_function(layers=arns)
    v2 = sb.publish_layer_version("l0", HELPER).layer_version_arn
    with pytest.raises(
        errors.InvalidParameterValueException,
        match=exact(
            "Two different versions of the same layer are not allowed to be referenced in the "
            f"same function. {arns[0]} and {v2} are versions of the same layer."
        ),
    ):
        make_function(layers=[arns[0], v2])
    missing = arns[0][:-1] + "9"
    with pytest.raises(
        errors.InvalidParameterValueException,
        match=exact(f"Layer version {missing} does not exist."),
    ):
        make_function(layers=[missing])
    with pytest.raises(errors.InvalidParameterValueException, match="not in the same region"):
        make_function(layers=[arns[0].replace("us-east-1", "eu-west-1")])
    with pytest.raises(errors.ValidationException, match="at 'layers' failed"):
        make_function(layers=[arns[0].rsplit(":", 1)[0]])
    assert sb.list_functions().functions == ()
    fn = make_function(layers=arns[:5])
    assert [layer.arn for layer in fn.layers] == arns[:5]
    layers_doc = fn.to_aws()["Layers"]
    assert layers_doc[0] == {"Arn": arns[0], "CodeSize": len(HELPER)}  # no bookkeeping shown


def test_function_and_layers_share_the_unzipped_quota(
    sb: Sandbox,
    make_function,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    big = sb.publish_layer_version("big", zip_of({"python/blob.py": "#" * 600}))
    monkeypatch.setattr("sandbox.service.code.MAX_UNZIPPED_SIZE", 700)
    message = exact("Unzipped size must be smaller than 700 bytes")
    source = "def lambda_handler(e, c):\n    return 1\n" + "#" * 200
    with pytest.raises(errors.InvalidParameterValueException, match=message):
        make_function(source=source, layers=[big.layer_version_arn])
    make_function(source=source)
    with pytest.raises(errors.InvalidParameterValueException, match=message):
        sb.update_function_configuration("fn", layers=[big.layer_version_arn])
    assert sb.get_function_configuration("fn").layers == ()


# --- deletion and sharing -------------------------------------------------------------------


def test_deleting_a_layer_version_keeps_functions_running_but_refuses_new_uses(
    sb: Sandbox,
) -> None:
    helper = sb.publish_layer_version("helpers", HELPER)
    sb.create_function("user", READER, layers=[helper.layer_version_arn])
    sb.publish_version("user")
    sb.delete_layer_version("helpers", 1)
    assert invoke(sb, "user", {"import": ["helper"]})["helper"] == "helper v1"
    assert invoke(sb, "user:1", {"import": ["helper"]})["helper"] == "helper v1"
    assert [layer.arn for layer in sb.get_function_configuration("user").layers] == [
        helper.layer_version_arn
    ]
    sb.update_function_configuration("user", timeout=10)  # other settings: fine
    assert invoke(sb, "user", {"import": ["helper"]})["helper"] == "helper v1"
    gone = exact(f"Layer version {helper.layer_version_arn} does not exist.")
    with pytest.raises(errors.InvalidParameterValueException, match=gone):
        sb.update_function_configuration("user", layers=[helper.layer_version_arn])
    with pytest.raises(errors.InvalidParameterValueException, match=gone):
        sb.create_function("newcomer", READER, layers=[helper.layer_version_arn])
    sb.update_function_configuration("user", layers=[])  # dropping it is the way out


def test_cross_account_story(sb: Sandbox) -> None:
    """Publish in A, grant B, create in B, revoke, delete: B's function runs on; a new one
    is refused."""
    consumer = sb.for_account(B)
    helper = sb.publish_layer_version("helpers", HELPER)
    arn = helper.layer_version_arn
    denied = exact(
        f"User: arn:aws:iam::{B}:root is not authorized to perform: lambda:GetLayerVersion on "
        f"resource: {arn} because no resource-based policy allows the lambda:GetLayerVersion "
        "action"
    )
    with pytest.raises(errors.AccessDeniedException, match=denied) as caught:
        consumer.create_function("b-fn", READER, layers=[arn])
    assert caught.value.status_code == 403
    with pytest.raises(errors.AccessDeniedException, match=denied):
        consumer.get_layer_version_by_arn(arn)

    granted = sb.add_layer_version_permission(
        "helpers", 1, "share-with-b", "lambda:GetLayerVersion", B
    )
    assert json.loads(granted["Statement"]) == {
        "Sid": "share-with-b",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{B}:root"},
        "Action": "lambda:GetLayerVersion",
        "Resource": arn,
    }
    assert consumer.get_layer_version_by_arn(arn).code_sha256 == helper.code_sha256
    consumer.create_function("b-fn", READER, layers=[arn])
    assert invoke(consumer, "b-fn", {"import": ["helper"]})["helper"] == "helper v1"

    sb.remove_layer_version_permission("helpers", 1, "share-with-b")
    assert invoke(consumer, "b-fn", {"import": ["helper"]})["helper"] == "helper v1"
    with pytest.raises(errors.AccessDeniedException, match=denied):
        consumer.create_function("b-new", READER, layers=[arn])
    with pytest.raises(errors.AccessDeniedException, match=denied):
        consumer.update_function_configuration("b-fn", layers=[arn])

    sb.delete_layer_version("helpers", 1)
    assert invoke(consumer, "b-fn", {"import": ["helper"]})["helper"] == "helper v1"
    with pytest.raises(errors.InvalidParameterValueException, match="does not exist"):
        consumer.create_function("b-new", READER, layers=[arn])
    assert [f.function_name for f in sb.list_functions().functions] == []  # accounts apart
    assert [f.function_name for f in consumer.list_functions().functions] == ["b-fn"]


def test_a_grant_to_everyone_and_to_an_organisation(sb: Sandbox) -> None:
    helper = sb.publish_layer_version("helpers", HELPER)
    inside = sb.for_account(B, organization_id="o-abcdefghij")
    outside = sb.for_account("333333333333", organization_id="o-zzzzzzzzzz")
    loner = sb.for_account("444444444444")
    statement = sb.add_layer_version_permission(
        "helpers", 1, "org", "lambda:GetLayerVersion", "*", organization_id="o-abcdefghij"
    )["Statement"]
    assert json.loads(statement)["Condition"] == {
        "StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}
    }
    assert json.loads(statement)["Principal"] == "*"
    assert inside.get_layer_version(helper.layer_arn, 1).version == 1
    for stranger in (outside, loner):
        with pytest.raises(errors.AccessDeniedException):
            stranger.get_layer_version(helper.layer_arn, 1)
    sb.add_layer_version_permission("helpers", 1, "all", "lambda:GetLayerVersion", "*")
    assert loner.get_layer_version(helper.layer_arn, 1).version == 1


def test_only_the_owner_manages_a_layer(sb: Sandbox) -> None:
    helper = sb.publish_layer_version("helpers", HELPER)
    sb.add_layer_version_permission("helpers", 1, "all", "lambda:GetLayerVersion", "*")
    consumer = sb.for_account(B)
    for call in (
        lambda: consumer.delete_layer_version(helper.layer_arn, 1),
        lambda: consumer.list_layer_versions(helper.layer_arn),
        lambda: consumer.publish_layer_version(helper.layer_arn, HELPER),
        lambda: consumer.add_layer_version_permission(
            helper.layer_arn, 1, "me", "lambda:GetLayerVersion", B
        ),
        lambda: consumer.get_layer_version_policy(helper.layer_arn, 1),
    ):
        with pytest.raises(errors.AccessDeniedException, match=f"arn:aws:iam::{B}:root"):
            call()
    assert consumer.list_layers().layers == ()  # ListLayers shows one's own layers only
    assert sb.get_layer_version("helpers", 1).version == 1


def test_policy_rules_and_messages(sb: Sandbox) -> None:
    sb.publish_layer_version("helpers", HELPER)
    with pytest.raises(
        errors.ResourceNotFoundException,
        match=exact("No policy is associated with the given resource."),
    ):
        sb.get_layer_version_policy("helpers", 1)
    first = sb.add_layer_version_permission("helpers", 1, "s1", "lambda:GetLayerVersion", B)
    with pytest.raises(errors.ResourceConflictException, match=r"The statement id \(s1\)"):
        sb.add_layer_version_permission("helpers", 1, "s1", "lambda:GetLayerVersion", "*")
    with pytest.raises(errors.PreconditionFailedException):
        sb.add_layer_version_permission(
            "helpers", 1, "s2", "lambda:GetLayerVersion", "*", revision_id="stale"
        )
    second = sb.add_layer_version_permission(
        "helpers",
        1,
        "s2",
        "lambda:GetLayerVersion",
        f"arn:aws:iam::{B}:root",
        revision_id=first["RevisionId"],
    )
    policy = sb.get_layer_version_policy("helpers", 1)
    assert policy["RevisionId"] == second["RevisionId"]
    document = json.loads(policy["Policy"])
    assert document["Version"] == "2012-10-17" and document["Id"] == "default"
    assert [s["Sid"] for s in document["Statement"]] == ["s1", "s2"]
    with pytest.raises(
        errors.ResourceNotFoundException,
        match=exact("Statement s9 is not found in resource policy."),
    ):
        sb.remove_layer_version_permission("helpers", 1, "s9")
    for kwargs, member in (
        ({"action": "lambda:InvokeFunction"}, "action"),
        ({"principal": "everyone"}, "principal"),
        ({"statement_id": "no spaces"}, "statementId"),
        ({"organization_id": "org-1"}, "organizationId"),
    ):
        args: dict[str, object] = {
            "statement_id": "s3",
            "action": "lambda:GetLayerVersion",
            "principal": "*",
            **kwargs,
        }
        with pytest.raises(errors.ValidationException, match=f"at '{member}' failed"):
            sb.add_layer_version_permission("helpers", 1, **args)  # type: ignore[arg-type]
    with pytest.raises(errors.ResourceNotFoundException, match="does not exist"):
        sb.add_layer_version_permission("helpers", 7, "s1", "lambda:GetLayerVersion", "*")
    sb.remove_layer_version_permission("helpers", 1, "s1")
    sb.remove_layer_version_permission("helpers", 1, "s2")
    with pytest.raises(errors.ResourceNotFoundException, match="No policy"):
        sb.get_layer_version_policy("helpers", 1)


def test_layers_and_accounts_survive_a_restart(tmp_path: Path) -> None:
    with Sandbox(tmp_path) as sb:
        sb.publish_layer_version("helpers", HELPER)
        sb.add_layer_version_permission(
            "helpers", 1, "org", "lambda:GetLayerVersion", "*", organization_id="o-abcdefghij"
        )
        sb.for_account(B, organization_id="o-abcdefghij")
    with Sandbox(tmp_path, account_id=B) as again:
        arn = "arn:aws:lambda:us-east-1:123456789012:layer:helpers:1"
        assert again.get_layer_version_by_arn(arn).version == 1
