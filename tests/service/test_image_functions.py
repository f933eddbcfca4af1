"""Container-image functions (``PackageType="Image"``): a local image as the function's code,
its CMD/ENTRYPOINT/WORKDIR and ImageConfig, AWS's refusals, and the same lifecycle as zips."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from zips import exact

from sandbox import Sandbox, errors

NO_ZIP_SETTINGS = exact(
    "Please don't provide Handler or Runtime or Layer when the intended function PackageType "
    "is Image."
)

APP = """\
import os, sys
import util

def handler(event, context):
    return {
        "greeting": os.environ.get("GREETING"),
        "stage": os.environ.get("STAGE"),
        "util": util.VALUE,
        "cwd": os.getcwd(),
        "root": os.environ["LAMBDA_TASK_ROOT"],
        "path": sys.path[:3],
        "version": context.function_version,
    }

def other(event, context):
    return "other"
"""


@pytest.fixture
def image(tmp_path: Path) -> Path:
    """A Dockerfile build context on the AWS Python 3.12 base image."""
    root = tmp_path / "image"
    (root / "src").mkdir(parents=True)
    (root / "lib").mkdir()
    (root / "src" / "app.py").write_text(APP)
    (root / "lib" / "util.py").write_text("VALUE = 42\n")
    (root / "Dockerfile").write_text(
        "FROM public.ecr.aws/lambda/python:3.12\n"
        "ENV GREETING=hello STAGE=image\n"
        "COPY src/app.py ${LAMBDA_TASK_ROOT}/\n"
        "COPY lib/ /opt/python/\n"
        'CMD ["app.handler"]\n'
    )
    return root


def test_an_image_function_runs_its_cmd(sb: Sandbox, image: Path) -> None:
    config = sb.create_function("img", {"ImageUri": str(image)}, package_type="Image")
    doc = config.to_aws()
    assert doc["PackageType"] == "Image" and doc["CodeSize"] == 0
    assert "Runtime" not in doc and "Handler" not in doc
    assert not any(key.startswith("X-Sandbox") for key in doc)
    result = sb.invoke("img", {})
    assert result.function_error is None, result.payload
    payload = result.payload
    assert payload["greeting"] == "hello" and payload["util"] == 42
    assert payload["cwd"] == payload["root"]
    opt = "/opt" if sb.isolation == "namespaces" else payload["path"][2].rsplit("/", 1)[0]
    assert payload["path"][1:] == [f"{opt}/python/lib/python3.12/site-packages", f"{opt}/python"]
    # the same lifecycle as a zip function: a cold start with INIT and a REPORT
    assert result.logs[0].startswith("START RequestId: ")
    assert re.search(r"\tInit Duration: \d+\.\d\d ms", result.logs[-1])
    assert "Init Duration" not in sb.invoke("img", {}).logs[-1]  # warm


def test_function_variables_override_the_image_env(sb: Sandbox, image: Path) -> None:
    sb.create_function(
        "img", str(image), package_type="Image", environment={"Variables": {"STAGE": "fn"}}
    )
    payload = sb.invoke("img", {}).payload
    assert (payload["greeting"], payload["stage"]) == ("hello", "fn")


def test_image_config_overrides_cmd_and_workdir(sb: Sandbox, image: Path) -> None:
    sb.create_function(
        "img",
        image,
        package_type="Image",
        image_config={"Command": ["app.other"]},
    )
    assert sb.invoke("img", {}).payload == "other"
    shown = sb.get_function_configuration("img").to_aws()["ImageConfigResponse"]
    assert shown == {"ImageConfig": {"Command": ["app.other"]}}
    sb.update_function_configuration(
        "img", image_config={"Command": ["app.handler"], "WorkingDirectory": "/opt/python"}
    )
    payload = sb.invoke("img", {}).payload
    opt = "/opt" if sb.isolation == "namespaces" else payload["path"][2].rsplit("/", 1)[0]
    assert payload["cwd"] == f"{opt}/python"


def test_the_image_is_snapshotted_until_the_code_is_updated(sb: Sandbox, image: Path) -> None:
    first = sb.create_function("img", image, package_type="Image", publish=True)
    (image / "lib" / "util.py").write_text("VALUE = 43\n")
    assert sb.invoke("img", {}).payload["util"] == 42  # editing the directory changes nothing
    updated = sb.update_function_code("img", image_uri=str(image))
    assert updated.code_sha256 != first.code_sha256
    assert sb.invoke("img", {}).payload["util"] == 43
    assert sb.invoke("img:1", {}).payload["util"] == 42  # version 1 keeps its image
    code = sb.get_function("img").code.to_aws()
    assert code["RepositoryType"] == "ECR" and code["ImageUri"] == str(image)
    digest = bytes.fromhex(str(code["ResolvedImageUri"]).rsplit("@sha256:", 1)[1])
    import base64

    assert base64.b64encode(digest).decode() == updated.code_sha256


def test_what_an_image_function_refuses(sb: Sandbox, image: Path) -> None:
    layer = "arn:aws:lambda:us-east-1:123456789012:layer:any:1"
    for kwargs in ({"runtime": "python3.12"}, {"handler": "app.handler"}, {"layers": [layer]}):
        with pytest.raises(errors.InvalidParameterValueException, match=NO_ZIP_SETTINGS):
            sb.create_function("img", image, package_type="Image", **kwargs)  # type: ignore[arg-type]
    sb.create_function("img", image, package_type="Image")
    for settings in ({"layers": [layer]}, {"handler": "app.other"}, {"runtime": "python3.13"}):
        with pytest.raises(errors.InvalidParameterValueException, match=NO_ZIP_SETTINGS):
            sb.update_function_configuration("img", **settings)
    with pytest.raises(errors.InvalidParameterValueException, match="Please provide ImageUri"):
        sb.update_function_code("img", "def handler(e, c):\n    return 1\n")
    with pytest.raises(errors.InvalidParameterValueException, match="Please provide ImageUri"):
        sb.update_function_code("img", zip_file=b"PK")
    with pytest.raises(
        errors.InvalidParameterValueException,
        match=exact(f"Source image {image}/missing does not exist. Provide a valid source image."),
    ):
        sb.create_function("img2", image / "missing", package_type="Image")


def test_what_a_zip_function_refuses(sb: Sandbox, make_function, image: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(errors.InvalidParameterValueException, match="only valid for functions"):
        make_function(image_config={"Command": ["x.y"]})
    make_function()
    with pytest.raises(
        errors.InvalidParameterValueException, match="Please don't provide ImageUri"
    ):
        sb.update_function_code("fn", image_uri=str(image))
    with pytest.raises(errors.InvalidParameterValueException, match="only valid for functions"):
        sb.update_function_configuration("fn", image_config={"Command": ["x.y"]})
    with pytest.raises(errors.ValidationException, match="at 'packageType' failed"):
        make_function(name="odd", package_type="Docker")


def test_images_the_sandbox_cannot_run_yet_are_refused_clearly(
    sb: Sandbox, image: Path, tmp_path: Path
) -> None:
    custom = tmp_path / "custom"
    custom.mkdir()
    (custom / "bootstrap").write_text("#!/bin/sh\n")
    (custom / "Dockerfile").write_text(
        "FROM public.ecr.aws/lambda/provided:al2023\nCOPY bootstrap ${LAMBDA_RUNTIME_DIR}/\n"
        'CMD ["function.handler"]\n'
    )
    with pytest.raises(errors.InvalidParameterValueException):
        sb.create_function("custom", custom, package_type="Image")
    with pytest.raises(errors.InvalidParameterValueException, match="Runtime API"):
        sb.create_function(
            "entry", image, package_type="Image", image_config={"EntryPoint": ["/my/entry"]}
        )
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "app.py").write_text(APP)
    with pytest.raises(errors.InvalidParameterValueException, match="has no CMD"):
        sb.create_function("bare", bare, package_type="Image")
    # a plain directory is /var/task on the default base image: it runs with a Command
    (bare / "util.py").write_text("VALUE = 7\n")
    sb.create_function(
        "bare", bare, package_type="Image", image_config={"Command": ["app.handler"]}
    )
    assert sb.invoke("bare", {}).payload["util"] == 7
    assert sb.list_functions().functions[0].function_name == "bare"


def _oci_image(root: Path) -> Path:
    """A one-layer OCI image layout, as ``docker save``/``skopeo copy oci:`` would write."""
    import gzip
    import hashlib
    import io
    import json
    import tarfile

    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def put(data: bytes, media_type: str) -> dict[str, object]:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, text in (("var/task/app.py", APP), ("opt/python/util.py", "VALUE = 99\n")):
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            tar.addfile(info, io.BytesIO(text.encode()))
    layer = put(gzip.compress(raw.getvalue()), "application/vnd.oci.image.layer.v1.tar+gzip")
    config = put(
        json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "config": {
                    "Env": ["AWS_EXECUTION_ENV=AWS_Lambda_python3.12", "GREETING=from-oci"],
                    "Entrypoint": ["/lambda-entrypoint.sh"],
                    "Cmd": ["app.handler"],
                    "WorkingDir": "/var/task",
                },
            }
        ).encode(),
        "application/vnd.oci.image.config.v1+json",
    )
    manifest = put(
        json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": config,
                "layers": [layer],
            }
        ).encode(),
        "application/vnd.oci.image.manifest.v1+json",
    )
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [manifest]}))
    return root


def test_an_oci_image_layout_runs(sb: Sandbox, tmp_path: Path) -> None:
    layout = _oci_image(tmp_path / "oci")
    sb.create_function("oci", f"file://{layout}", package_type="Image")
    payload = sb.invoke("oci", {}).payload
    assert (payload["greeting"], payload["util"]) == ("from-oci", 99)
    assert payload["path"][1].endswith("/python/lib/python3.12/site-packages")
