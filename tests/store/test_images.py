"""Building image-function packages from a Dockerfile, an OCI layout or a plain directory."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import tarfile
import zipfile
from collections.abc import Mapping
from pathlib import Path

import pytest

from sandbox.errors import InvalidParameterValueException
from sandbox.store.images import MAX_IMAGE_SIZE, ImagePackage, build_image

BASE_ENV = {
    "LANG": "en_US.UTF-8",
    "TZ": ":/etc/localtime",
    "PATH": "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin",
    "LD_LIBRARY_PATH": (
        "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:"
        "/var/task/lib:/opt/lib"
    ),
    "LAMBDA_TASK_ROOT": "/var/task",
    "LAMBDA_RUNTIME_DIR": "/var/runtime",
}
GZIP_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
TAR_LAYER = "application/vnd.oci.image.layer.v1.tar"


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content)
        else:
            path.write_bytes(content)
    return root


def entries(package: ImagePackage) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(package.zip_bytes)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def is_executable(package: ImagePackage, name: str) -> bool:
    with zipfile.ZipFile(io.BytesIO(package.zip_bytes)) as archive:
        return bool((archive.getinfo(name).external_attr >> 16) & 0o111)


def refused(path: Path, message: str, **kwargs: int) -> None:
    with pytest.raises(InvalidParameterValueException, match=re.escape(message)):
        build_image(path, **kwargs)


# --- Dockerfile ------------------------------------------------------------------------------


def test_dockerfile_builds_code_layers_and_config(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "Dockerfile": (
                "FROM public.ecr.aws/lambda/python:3.12\n"
                "COPY app.py ./\n"
                "COPY lib/ /opt/python/\n"
                'ENV STAGE=dev GREETING="hello world"\n'
                'CMD ["app.handler"]\n'
            ),
            "app.py": "def handler(event, context):\n    return 1\n",
            "lib/helper.py": "X = 1\n",
            "lib/__pycache__/helper.cpython-312.pyc": b"\x00junk",
            "lib/stale.pyc": b"\x00junk",
            "unused.txt": "not copied",
        },
    )
    package = build_image(tmp_path)
    files = entries(package)
    assert files == {
        "var/task/app.py": b"def handler(event, context):\n    return 1\n",
        "opt/python/helper.py": b"X = 1\n",
    }
    assert package.source == "dockerfile"
    assert package.runtime == "python3.12"
    assert package.command == ("app.handler",)
    assert package.entry_point == ("/lambda-entrypoint.sh",)
    assert package.working_directory == "/var/task"
    assert list(package.environment.items()) == [
        *BASE_ENV.items(),
        ("STAGE", "dev"),
        ("GREETING", "hello world"),
    ]
    assert package.digest == "sha256:" + hashlib.sha256(package.zip_bytes).hexdigest()
    assert package.unzipped_size == sum(map(len, files.values()))


def test_shell_form_cmd_and_entrypoint_run_through_sh(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "Dockerfile": (
                "FROM amazon/aws-lambda-python:3.11\n"
                "ENTRYPOINT python -m awslambdaric\n"
                "CMD echo $HOME && exit 0\n"
            )
        },
    )
    package = build_image(tmp_path)
    assert package.entry_point == ("/bin/sh", "-c", "python -m awslambdaric")
    assert package.command == ("/bin/sh", "-c", "echo $HOME && exit 0")  # not expanded
    assert package.runtime == "python3.11"


def test_continuations_comments_case_and_chmod(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "Dockerfile": (
                "# a comment before FROM\n"
                "from public.ecr.aws/lambda/python:3.13@sha256:" + "a" * 64 + " \\\n"
                "    AS base\n"
                "\n"
                "copy --chmod=755 --chown=1000:1000 \\\n"
                "  # a comment inside a continuation is dropped\n"
                "  run.sh app.py \\\n"
                "  ${LAMBDA_TASK_ROOT}/\n"
                "Copy plain.py $LAMBDA_TASK_ROOT/renamed.py\n"
            ),
            "run.sh": "#!/bin/sh\n",
            "app.py": "A = 1\n",
            "plain.py": "B = 2\n",
        },
    )
    package = build_image(tmp_path)
    assert set(entries(package)) == {
        "var/task/run.sh",
        "var/task/app.py",
        "var/task/renamed.py",
    }
    assert package.runtime == "python3.13"
    assert is_executable(package, "var/task/run.sh")
    assert is_executable(package, "var/task/app.py")  # --chmod=755 applies to every source
    assert not is_executable(package, "var/task/renamed.py")


def test_arg_and_env_expansion(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "Dockerfile": (
                "ARG PY=3.13\n"
                "FROM public.ecr.aws/lambda/python:${PY}-arm64\n"
                "ARG PY\n"
                "ARG DEST=/opt/tools\n"
                "ENV TARGET=${DEST}/bin FALLBACK=${MISSING:-fallback} VERSION=$PY\n"
                "ENV LEGACY value with spaces\n"
                "WORKDIR $DEST\n"
                "COPY tool.py .\n"
                "WORKDIR sub\n"
                "COPY tool.py copy.py\n"
            ),
            "tool.py": "T = 1\n",
        },
    )
    package = build_image(tmp_path)
    assert package.runtime == "python3.13"
    assert set(entries(package)) == {"opt/tools/tool.py", "opt/tools/sub/copy.py"}
    assert package.working_directory == "/opt/tools/sub"
    env = package.environment
    assert env["TARGET"] == "/opt/tools/bin"
    assert env["FALLBACK"] == "fallback"
    assert env["VERSION"] == "3.13"  # the pre-FROM ARG, redeclared after FROM
    assert env["LEGACY"] == "value with spaces"


def test_glob_sources_and_directory_destination(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "Dockerfile": "FROM public.ecr.aws/lambda/python:3.12\nCOPY *.py conf/ ./\n",
            "a.py": "a",
            "b.py": "b",
            "c.txt": "c",
            "conf/settings.json": "{}",
        },
    )
    assert set(entries(build_image(tmp_path))) == {
        "var/task/a.py",
        "var/task/b.py",
        "var/task/settings.json",  # a directory source copies its contents
    }


def test_provided_base_image(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "Dockerfile": (
                "FROM public.ecr.aws/lambda/provided:al2023-x86_64\n"
                "COPY bootstrap ${LAMBDA_TASK_ROOT}\n"
                'CMD ["function.handler"]\n'
            ),
            "bootstrap": "#!/bin/sh\n",
        },
    )
    (tmp_path / "bootstrap").chmod(0o755)
    package = build_image(tmp_path)
    assert package.runtime == "provided.al2023"
    assert package.entry_point == ("/lambda-entrypoint.sh",)
    assert package.working_directory == "/var/task"
    assert set(entries(package)) == {"var/task/bootstrap"}
    assert is_executable(package, "var/task/bootstrap")
    write(tmp_path, {"Dockerfile": "FROM amazon/aws-lambda-provided:al2\n"})
    assert build_image(tmp_path).runtime == "provided.al2"


@pytest.mark.parametrize(
    ("dockerfile", "message"),
    [
        (
            "FROM public.ecr.aws/lambda/python:3.12\nRUN pip install requests\n",
            "Dockerfile line 2: RUN is not supported",
        ),
        (
            "FROM public.ecr.aws/lambda/python:3.12 AS build\n"
            "FROM public.ecr.aws/lambda/python:3.12\n",
            "Dockerfile line 2: multi-stage builds are not supported",
        ),
        (
            "FROM public.ecr.aws/lambda/python:3.12\nCOPY --from=build /x .\n",
            "Dockerfile line 2: COPY --from needs a multi-stage build",
        ),
        (
            "FROM python:3.12-slim\n",
            "Dockerfile line 1: base image python:3.12-slim is not supported. "
            "Use public.ecr.aws/lambda/python:3.X",
        ),
        (
            "COPY app.py .\nFROM public.ecr.aws/lambda/python:3.12\n",
            "Dockerfile line 1: COPY before FROM",
        ),
        (
            "FROM public.ecr.aws/lambda/python:3.12\nCOPY app.py /etc/app.py\n",
            "Dockerfile line 2: COPY destination /etc/app.py is outside /var/task and /opt.",
        ),
        (
            "FROM public.ecr.aws/lambda/python:3.12\nWORKDIR /app\n",
            "Dockerfile line 2: WORKDIR /app is outside /var/task and /opt.",
        ),
        (
            "FROM public.ecr.aws/lambda/python:3.12\nCOPY ../x .\n",
            "Dockerfile line 2: COPY failed: forbidden path outside the build context: ../x.",
        ),
        (
            "FROM public.ecr.aws/lambda/python:3.12\nADD https://example.com/x.py .\n",
            "Dockerfile line 2: ADD from a URL (https://example.com/x.py) is not supported",
        ),
        (
            "FROM public.ecr.aws/lambda/python:3.12\nCOPY app.py other.py /var/task\n",
            "Dockerfile line 2: When using COPY with more than one source file, the "
            "destination must be a directory and end with a /",
        ),
        (
            "FROM public.ecr.aws/lambda/python:3.12\nCOPY missing.py .\n",
            "Dockerfile line 2: COPY failed: missing.py not found in",
        ),
        (
            "FROM public.ecr.aws/lambda/python:3.12\n\n# note\nFROBNICATE now\n",
            "Dockerfile line 4: unknown instruction FROBNICATE.",
        ),
        ("# nothing here\n", "has no FROM instruction."),
        (
            'FROM public.ecr.aws/lambda/python:3.12\nLABEL note="unclosed\n',
            'Dockerfile line 2: unterminated " quote in: note="unclosed',
        ),
    ],
)
def test_refused_dockerfiles(tmp_path: Path, dockerfile: str, message: str) -> None:
    write(tmp_path, {"Dockerfile": dockerfile, "app.py": "", "other.py": ""})
    refused(tmp_path, message)


def test_run_message_says_how_to_vendor(tmp_path: Path) -> None:
    write(tmp_path, {"Dockerfile": "FROM public.ecr.aws/lambda/python:3.12\nRUN pip install x\n"})
    refused(tmp_path, f"`pip install -t {tmp_path}/package -r requirements.txt`")


def test_symlink_out_of_the_directory_refused(tmp_path: Path) -> None:
    outside = write(tmp_path / "outside", {"secret.txt": "s3cret"})
    image = write(tmp_path / "image", {"Dockerfile": "FROM amazon/aws-lambda-python:3.12\n"})
    (image / "code").mkdir()
    (image / "code" / "leak.txt").symlink_to(outside / "secret.txt")
    (image / "Dockerfile").write_text("FROM amazon/aws-lambda-python:3.12\nCOPY code/ ./\n")
    refused(image, "outside the image directory")
    (image / "Dockerfile").unlink()
    refused(image, "outside the image directory")  # the plain-directory form too


def test_missing_path_and_file_uri(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(
        InvalidParameterValueException,
        match="^"
        + re.escape(f"Source image {missing} does not exist. Provide a valid source image.")
        + "$",
    ):
        build_image(missing)
    write(tmp_path / "code", {"app.py": "x = 1\n"})
    assert (
        build_image(f"file://{tmp_path / 'code'}").digest == build_image(tmp_path / "code").digest
    )


def test_same_content_same_digest(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        "Dockerfile": "FROM public.ecr.aws/lambda/python:3.12\nCOPY . .\n",
        "app.py": "def handler(e, c):\n    return 1\n",
        "pkg/mod.py": "Y = 2\n",
    }
    first = build_image(write(tmp_path / "one", files))
    assert build_image(tmp_path / "one").digest == first.digest
    assert build_image(write(tmp_path / "two", files)).digest == first.digest  # other mtimes
    (tmp_path / "two" / "pkg" / "mod.py").write_text("Y = 3\n")
    assert build_image(tmp_path / "two").digest != first.digest


def test_plain_directory_is_var_task(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"app.py": "A = 1\n", "data/x.json": "{}", "__pycache__/app.cpython-312.pyc": b"\0"},
    )
    package = build_image(tmp_path)
    assert set(entries(package)) == {"var/task/app.py", "var/task/data/x.json"}
    assert package.source == "directory"
    assert package.runtime == "python3.13"
    assert package.command == ()
    assert package.entry_point == ("/lambda-entrypoint.sh",)
    assert package.environment == BASE_ENV


def test_size_bound(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"Dockerfile": "FROM public.ecr.aws/lambda/python:3.12\nCOPY . .\n", "big": b"x" * 2000},
    )
    refused(tmp_path, "Uncompressed container image size exceeds 1000 bytes limit", max_size=1000)
    assert build_image(tmp_path, max_size=5000).unzipped_size > 2000
    assert MAX_IMAGE_SIZE == 10_737_418_240


# --- OCI image layouts -----------------------------------------------------------------------


def tar_layer(*members: tuple[tarfile.TarInfo, bytes | None]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def file(name: str, data: bytes, mode: int = 0o644) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), mode
    return info, data


def entry(name: str, kind: bytes, target: str = "") -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, target, 0o755
    return info, None


def blob(root: Path, data: bytes, media_type: str, **extra: object) -> dict[str, object]:
    digest = hashlib.sha256(data).hexdigest()
    (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (root / "blobs" / "sha256" / digest).write_bytes(data)
    return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data), **extra}


def image_manifest(
    root: Path, layers: list[dict[str, object]], config: Mapping[str, object]
) -> bytes:
    config_blob = json.dumps({"architecture": "amd64", "os": "linux", "config": config})
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": blob(root, config_blob.encode(), "application/vnd.oci.image.config.v1+json"),
        "layers": layers,
    }
    return json.dumps(manifest).encode()


def oci_layout(root: Path, manifests: list[dict[str, object]]) -> Path:
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": manifests}))
    return root


def two_layer_image(root: Path) -> Path:
    first = tar_layer(
        entry("var/task", tarfile.DIRTYPE),
        file("var/task/app.py", b"print('app')\n"),
        file("var/task/old.py", b"old\n"),
        file("var/task/sub/x.txt", b"x\n"),
        file("opt/lib/a.so", b"lib-a", 0o755),
        file("usr/bin/python3", b"ELF"),
    )
    second = tar_layer(
        file("var/task/.wh.old.py", b""),
        file("var/task/new.py", b"new\n"),
        file("opt/.wh..wh..opq", b""),
        file("opt/lib2/b.so", b"lib-b"),
        entry("var/task/link.txt", tarfile.SYMTYPE, "sub/x.txt"),
        entry("var/task/hosts", tarfile.SYMTYPE, "/etc/hosts"),
        entry("var/task/hard.txt", tarfile.LNKTYPE, "var/task/app.py"),
    )
    layers = [
        blob(root, gzip.compress(first, mtime=0), GZIP_LAYER),
        blob(root, second, TAR_LAYER),
    ]
    config = {
        "Entrypoint": ["/lambda-entrypoint.sh"],
        "Cmd": ["app.handler"],
        "WorkingDir": "/var/task",
        "Env": ["PATH=/var/lang/bin:/usr/bin", "AWS_EXECUTION_ENV=AWS_Lambda_python3.12"],
    }
    manifest = image_manifest(root, layers, config)
    return oci_layout(root, [blob(root, manifest, "application/vnd.oci.image.manifest.v1+json")])


def test_oci_layout_applies_layers_and_whiteouts(tmp_path: Path) -> None:
    package = build_image(two_layer_image(tmp_path))
    assert entries(package) == {
        "var/task/app.py": b"print('app')\n",
        "var/task/new.py": b"new\n",
        "var/task/sub/x.txt": b"x\n",
        "var/task/link.txt": b"x\n",  # a link inside the tree becomes a copy of its target
        "var/task/hard.txt": b"print('app')\n",
        "opt/lib2/b.so": b"lib-b",  # the opaque whiteout hid opt/lib from the first layer
    }  # var/task/hosts -> /etc/hosts points into the base image: dropped
    assert package.source == "oci"
    assert package.runtime == "python3.12"
    assert package.entry_point == ("/lambda-entrypoint.sh",)
    assert package.command == ("app.handler",)
    assert package.working_directory == "/var/task"
    assert package.environment == {
        "PATH": "/var/lang/bin:/usr/bin",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
    }
    assert build_image(tmp_path).digest == package.digest


def test_oci_index_picks_linux_amd64(tmp_path: Path) -> None:
    manifests = []
    for arch in ("arm64", "amd64"):
        layer = tar_layer(file("var/task/arch.txt", arch.encode()))
        manifest = image_manifest(tmp_path, [blob(tmp_path, layer, TAR_LAYER)], {"Cmd": ["h"]})
        platform = {"os": "linux", "architecture": arch}
        manifests.append(
            blob(
                tmp_path, manifest, "application/vnd.oci.image.manifest.v1+json", platform=platform
            )
        )
    index = json.dumps({"schemaVersion": 2, "manifests": manifests}).encode()
    oci_layout(tmp_path, [blob(tmp_path, index, "application/vnd.oci.image.index.v1+json")])
    package = build_image(tmp_path)
    assert entries(package) == {"var/task/arch.txt": b"amd64"}
    assert package.runtime == "python3.13"  # nothing in the image says otherwise


def test_oci_bootstrap_without_python_is_provided(tmp_path: Path) -> None:
    layer = tar_layer(file("var/runtime/bootstrap", b"#!/bin/sh\n", 0o755), file("var/task/f", b""))
    manifest = image_manifest(tmp_path, [blob(tmp_path, layer, TAR_LAYER)], {})
    oci_layout(tmp_path, [blob(tmp_path, manifest, "application/vnd.oci.image.manifest.v1+json")])
    package = build_image(tmp_path)
    assert package.runtime == "provided.al2023"
    assert package.command == ()
    assert package.working_directory == "/var/task"


def test_oci_digest_mismatch_refused(tmp_path: Path) -> None:
    two_layer_image(tmp_path)
    layer = next(
        p for p in (tmp_path / "blobs" / "sha256").iterdir() if p.read_bytes()[:2] == b"\x1f\x8b"
    )
    data = layer.read_bytes()
    layer.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    refused(tmp_path, f"OCI blob sha256:{layer.name} does not match its digest")


@pytest.mark.parametrize(
    ("member", "message"),
    [
        (file("../evil", b"x"), "OCI layer entry '../evil' escapes the image root."),
        (file("var/task/../../../evil", b"x"), "escapes the image root."),
        (
            entry("var/task/x", tarfile.SYMTYPE, "../../../../etc/passwd"),
            "Symbolic link /var/task/x -> ../../../../etc/passwd points outside the image",
        ),
        (entry("var/task/tty", tarfile.CHRTYPE), "is a device or FIFO"),
        (entry("var/task/pipe", tarfile.FIFOTYPE), "is a device or FIFO"),
    ],
)
def test_hostile_layers_refused(
    tmp_path: Path, member: tuple[tarfile.TarInfo, bytes | None], message: str
) -> None:
    layer = tar_layer(file("var/task/ok.py", b"ok"), member)
    manifest = image_manifest(tmp_path, [blob(tmp_path, layer, TAR_LAYER)], {})
    oci_layout(tmp_path, [blob(tmp_path, manifest, "application/vnd.oci.image.manifest.v1+json")])
    refused(tmp_path, message)


def test_oci_size_bound_counts_decompressed_bytes(tmp_path: Path) -> None:
    layer = gzip.compress(tar_layer(file("var/task/zeros", b"\0" * 200_000)), mtime=0)
    assert len(layer) < 10_000
    manifest = image_manifest(tmp_path, [blob(tmp_path, layer, GZIP_LAYER)], {})
    oci_layout(tmp_path, [blob(tmp_path, manifest, "application/vnd.oci.image.manifest.v1+json")])
    refused(
        tmp_path, "Uncompressed container image size exceeds 50000 bytes limit", max_size=50_000
    )
    package = build_image(tmp_path, max_size=1_000_000)
    assert package.unzipped_size == 200_000


def test_unsupported_layer_media_type_refused(tmp_path: Path) -> None:
    zstd = "application/vnd.oci.image.layer.v1.tar+zstd"
    manifest = image_manifest(tmp_path, [blob(tmp_path, b"\x28\xb5\x2f\xfd", zstd)], {})
    oci_layout(tmp_path, [blob(tmp_path, manifest, "application/vnd.oci.image.manifest.v1+json")])
    refused(tmp_path, f"OCI layer media type '{zstd}' is not supported")


def test_executable_bits_survive_oci(tmp_path: Path) -> None:
    layer = tar_layer(file("opt/bin/tool", b"#!/bin/sh\n", 0o755), file("opt/data", b"d"))
    manifest = image_manifest(tmp_path, [blob(tmp_path, layer, TAR_LAYER)], {})
    oci_layout(tmp_path, [blob(tmp_path, manifest, "application/vnd.oci.image.manifest.v1+json")])
    package = build_image(tmp_path)
    assert is_executable(package, "opt/bin/tool")
    assert not is_executable(package, "opt/data")
