"""Packaging function code into deterministic zips, with AWS's quotas and messages."""

from __future__ import annotations

import base64
import base64 as b64
import functools
import hashlib
import io
import json
import linecache
import math
import os
import stat
import subprocess
import sys
import xml.etree.ElementTree
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from zips import EPOCH, exact, lying_bomb, make_zip

from sandbox.errors import InvalidParameterValueException, RequestTooLargeException
from sandbox.store.artifacts import safe_extract
from sandbox.store.packaging import CodePackage, build_zip, package_code, zip_sha256

UNZIP_FAILED = "Could not unzip uploaded file. Please check your file, then try to upload again."
UNZIPPED_TOO_LARGE = "Unzipped size must be smaller than 262144000 bytes"
USAGE = (
    "pass Code={'ZipFile': <zip bytes>}, a path to a directory or .zip file, "
    "Python source text, or a callable"
)


def run_handler(code: CodePackage, event: object, where: Path) -> object:
    """Extract the package and call its default handler in a fresh interpreter."""
    assert code.default_handler is not None
    task = where / "task"
    safe_extract(code.zip_bytes, task)
    module, function = code.default_handler.rsplit(".", 1)
    script = (
        "import importlib, json, sys\n"
        f"handler = getattr(importlib.import_module({module!r}), {function!r})\n"
        "print(json.dumps(handler(json.loads(sys.argv[1]), None)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-B", "-c", script, json.dumps(event)],
        cwd=task,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def members(code: CodePackage) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(code.zip_bytes)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


@pytest.fixture
def notebook() -> Iterator[Callable[..., dict[str, object]]]:
    """Run source the way a Jupyter cell does: in ``__main__``, source kept in linecache."""
    filenames: list[str] = []

    def run_cell(source: str, **namespace: object) -> dict[str, object]:
        filename = f"/tmp/ipykernel_0/cell-{len(filenames)}-{os.getpid()}.py"
        filenames.append(filename)
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        scope: dict[str, object] = {"__name__": "__main__", **namespace}
        exec(compile(source, filename, "exec"), scope)
        return scope

    yield run_cell
    for filename in filenames:
        linecache.cache.pop(filename, None)


# --- module-level functions packaged from source or by value ---------------------------


def json_handler(event, context):
    return json.dumps({"echo": event}, sort_keys=True)


def keep(fn):
    return fn


@keep
def decorated_handler(event, context):
    return math.floor(event["x"]) + len(b64.b64encode(b"ab"))


def xml_handler(event, context):
    return xml.etree.ElementTree.fromstring(event["xml"]).attrib


class Event(dict):
    """A type from the "notebook": the packaged source must not need it."""


def annotated_handler(event: Event, context: LambdaContext) -> dict:  # noqa: F821
    return {"keys": sorted(event)}


def countdown(event, context):
    n = event["n"]
    return [n] if n == 0 else [n, *countdown({"n": n - 1}, context)]


GREETINGS = {"en": "hello", "fr": "bonjour"}


def greet(event, context):
    return f"{GREETINGS[event['lang']]}, {event['name']}"


def with_dict_default(event, context, table=GREETINGS):
    return table[event["lang"]]


# --- zip input -------------------------------------------------------------------------


def test_zip_file_dict_is_kept_byte_for_byte() -> None:
    data = make_zip([("app.py", b"def handler(e, c):\n    return 1\n", 0o100644)])

    code = package_code({"ZipFile": data})

    assert code.zip_bytes == data
    assert code.code_sha256 == base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert code.code_size == len(data)
    assert code.unzipped_size == len(b"def handler(e, c):\n    return 1\n")
    assert code.default_handler is None
    assert code.source_kind == "zip"


def test_zip_bytes_and_bytearray_are_zip_content() -> None:
    data = make_zip([("a.txt", b"a" * 100, 0o100644), ("b/c.txt", b"c", 0o100644)])

    assert package_code(data) == package_code(bytearray(data)) == package_code({"ZipFile": data})
    assert package_code(data).unzipped_size == 101


def test_zip_file_path_and_str_path(tmp_path: Path) -> None:
    data = make_zip([("a.txt", b"abc", 0o100644)])
    path = tmp_path / "code.zip"
    path.write_bytes(data)

    assert package_code(path) == package_code(str(path)) == package_code(data)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (
            {"S3Bucket": "b", "S3Key": "k"},
            f"lambda-sandbox has no S3 or ECR, so it cannot use Code keys 'S3Bucket', 'S3Key': "
            f"{USAGE}.",
        ),
        (
            {"ImageUri": "123.dkr.ecr.us-east-1.amazonaws.com/fn:latest"},
            f"lambda-sandbox has no S3 or ECR, so it cannot use Code keys 'ImageUri': {USAGE}.",
        ),
        ({}, "Please provide a source for function code."),
        ({"ZipFile": "UEsDBA=="}, "ZipFile must be the zip file's bytes, not a str."),
    ],
)
def test_code_dict_refusals(code: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidParameterValueException, match=exact(message)):
        package_code(code)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not a zip at all",
        make_zip([("a.txt", b"hello" * 100, 0o100644)])[:-30],  # truncated
    ],
    ids=["empty", "text", "truncated"],
)
def test_not_a_zip(data: bytes) -> None:
    with pytest.raises(InvalidParameterValueException, match=exact(UNZIP_FAILED)):
        package_code({"ZipFile": data})


def test_corrupt_member_data_is_caught() -> None:
    data = bytearray(make_zip([("a.txt", bytes(range(256)) * 64, 0o100644)]))
    data[60] ^= 0xFF  # inside the deflated data of the only member

    with pytest.raises(InvalidParameterValueException, match=exact(UNZIP_FAILED)) as info:
        package_code(bytes(data))
    assert info.value.code == "InvalidParameterValueException"
    assert info.value.status_code == 400


def test_encrypted_member_cannot_be_unzipped() -> None:
    data = bytearray(make_zip([("a.txt", b"secret", 0o100644)]))
    central = data.index(b"PK\x01\x02")
    data[central + 8] |= 0x1  # general-purpose flag bit 0: encrypted

    with pytest.raises(InvalidParameterValueException, match=exact(UNZIP_FAILED)):
        package_code(bytes(data))


def test_zip_over_50_mb_is_refused_as_aws_does() -> None:
    too_big = bytes(52_428_801)

    with pytest.raises(
        RequestTooLargeException,
        match=exact("Request must be smaller than 70167211 bytes for the CreateFunction operation"),
    ) as info:
        package_code({"ZipFile": too_big})
    assert info.value.code == "RequestEntityTooLargeException"
    assert info.value.status_code == 413

    with pytest.raises(
        RequestTooLargeException,
        match=exact(
            "Request must be smaller than 70167211 bytes for the UpdateFunctionCode operation"
        ),
    ):
        package_code(too_big, operation="UpdateFunctionCode")


def test_declared_unzipped_size_over_quota_is_refused_before_reading() -> None:
    claims_too_much = lying_bomb(real_mib=1, declared=262_144_001)

    with pytest.raises(InvalidParameterValueException, match=exact(UNZIPPED_TOO_LARGE)):
        package_code(claims_too_much)


def test_zip_bomb_with_lying_headers_is_measured_not_believed() -> None:
    bomb = lying_bomb(real_mib=300)
    assert len(bomb) < 400_000

    with pytest.raises(InvalidParameterValueException, match=exact(UNZIPPED_TOO_LARGE)):
        package_code(bomb)


def test_lying_headers_under_quota_are_corrupt() -> None:
    with pytest.raises(InvalidParameterValueException, match=exact(UNZIP_FAILED)):
        package_code(lying_bomb(real_mib=2))


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "../evil.py",
            "Could not unzip uploaded file: member '../evil.py' has a '..' path component.",
        ),
        (
            "lib/../../evil.py",
            "Could not unzip uploaded file: member 'lib/../../evil.py' has a '..' path component.",
        ),
        (
            "/etc/cron.d/evil",
            "Could not unzip uploaded file: member '/etc/cron.d/evil' has an absolute path.",
        ),
    ],
)
def test_escaping_member_names_are_refused(name: str, message: str) -> None:
    data = make_zip([("ok.py", b"", 0o100644), (name, b"x", 0o100644)])

    with pytest.raises(InvalidParameterValueException, match=exact(message)):
        package_code(data)


@pytest.mark.parametrize("target", ["../../etc/passwd", "/etc/passwd", "a/../../../x", ""])
def test_symlink_leaving_the_package_is_refused(target: str) -> None:
    data = make_zip([("sub/link", target.encode(), stat.S_IFLNK | 0o777)])

    message = (
        f"Could not unzip uploaded file: symbolic link 'sub/link' points to '{target}', "
        "outside the package."
    )
    with pytest.raises(InvalidParameterValueException, match=exact(message)):
        package_code(data)


def test_symlink_inside_the_package_is_fine() -> None:
    data = make_zip(
        [("src/app.py", b"x = 1\n", 0o100644), ("app", b"src/app.py", stat.S_IFLNK | 0o777)]
    )

    assert package_code(data).unzipped_size == len(b"x = 1\n") + len(b"src/app.py")


# --- directories -----------------------------------------------------------------------


def write_tree(root: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def test_directory_is_zipped_recursively_without_bytecode(tmp_path: Path) -> None:
    write_tree(
        tmp_path / "fn",
        {
            "lambda_function.py": b"import helpers\n",
            "helpers/__init__.py": b"",
            "helpers/util.py": b"X = 1\n",
            "helpers/__pycache__/util.cpython-311.pyc": b"\x00",
            "stale.pyc": b"\x00",
            "bin/tool": b"#!/bin/sh\necho hi\n",
        },
    )
    (tmp_path / "fn" / "bin" / "tool").chmod(0o755)

    code = package_code(tmp_path / "fn")

    assert code.source_kind == "directory"
    assert code.default_handler is None
    with zipfile.ZipFile(io.BytesIO(code.zip_bytes)) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == [
        "bin/tool",
        "helpers/__init__.py",
        "helpers/util.py",
        "lambda_function.py",
    ]
    assert {i.filename: i.external_attr >> 16 for i in infos} == {
        "bin/tool": stat.S_IFREG | 0o755,
        "helpers/__init__.py": stat.S_IFREG | 0o644,
        "helpers/util.py": stat.S_IFREG | 0o644,
        "lambda_function.py": stat.S_IFREG | 0o644,
    }
    assert all(i.date_time == EPOCH for i in infos)
    assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in infos)
    assert code.unzipped_size == len(b"import helpers\n") + len(b"X = 1\n") + 18
    assert package_code(str(tmp_path / "fn")) == code


def test_directory_packaging_is_deterministic(tmp_path: Path) -> None:
    files = {"b.py": b"B = 2\n", "a.py": b"A = 1\n", "pkg/c.txt": b"c" * 1000}
    write_tree(tmp_path / "one", files)
    write_tree(tmp_path / "two", dict(reversed(files.items())))  # other creation order
    os.utime(tmp_path / "two" / "a.py", (1_000_000_000, 1_000_000_000))  # other mtimes

    first = package_code(tmp_path / "one")

    assert package_code(tmp_path / "one") == first
    assert package_code(tmp_path / "two").zip_bytes == first.zip_bytes
    assert package_code(tmp_path / "two").code_sha256 == first.code_sha256


def test_missing_path_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    message = f"Code path does not exist: '{missing}'. To give code, {USAGE}."

    with pytest.raises(InvalidParameterValueException, match=exact(message)):
        package_code(missing)
    with pytest.raises(InvalidParameterValueException, match=exact(message)):
        package_code(str(missing))
    with pytest.raises(
        InvalidParameterValueException,
        match=exact(f"Code path does not exist: 'handler.py'. To give code, {USAGE}."),
    ):
        package_code("handler.py")


def test_python_file_path_is_pointed_at_its_directory(tmp_path: Path) -> None:
    path = tmp_path / "app.py"
    path.write_text("def handler(event, context):\n    return 1\n")
    message = (
        f"'{path}' is a Python file, not a zip: pass its directory, or its source text "
        "(Path(...).read_text())."
    )

    with pytest.raises(InvalidParameterValueException, match=exact(message)):
        package_code(path)


# --- source text -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "handler"),
    [
        ("def main(event, context):\n    return 1\n", "lambda_function.main"),
        (
            "def first(a, b):\n    pass\n\ndef lambda_handler(event, context):\n    pass\n",
            "lambda_function.lambda_handler",
        ),
        (
            "def helper(x):\n    pass\n\ndef run(a, b):\n    pass\n\n"
            "def handler(event, context=None):\n    pass\n",
            "lambda_function.handler",
        ),
        ("import json\nX = 1\n", None),
        ("def helper(x):\n    return x\n", None),
        ("def one_liner(event, context): return 1", "lambda_function.one_liner"),
    ],
)
def test_source_becomes_lambda_function_py(source: str, handler: str | None) -> None:
    code = package_code(source)

    assert code.source_kind == "source"
    assert code.default_handler == handler
    assert members(code) == {"lambda_function.py": source.encode()}
    assert code.unzipped_size == len(source.encode())
    assert package_code(source) == code


@pytest.mark.process
@pytest.mark.timeout(60)
def test_source_runs(tmp_path: Path) -> None:
    source = (
        "import json\n\n"
        "def lambda_handler(event, context):\n"
        "    return json.loads(json.dumps({'got': event}))\n"
    )

    assert run_handler(package_code(source), {"x": 1}, tmp_path) == {"got": {"x": 1}}


def test_source_with_syntax_error() -> None:
    with pytest.raises(
        InvalidParameterValueException,
        match=exact("Function source is not valid Python: expected ':' (line 1)."),
    ):
        package_code("def handler(event, context)\n    return 1\n")


def test_source_that_defines_nothing() -> None:
    with pytest.raises(
        InvalidParameterValueException,
        match=exact("Function source defines nothing (no def, class, import or assignment)."),
    ):
        package_code("print('hello')\nprint('world')\n")


@pytest.mark.parametrize("code", [42, None, 3.5, ["def f(e, c): pass"]])
def test_other_objects_are_refused(code: object) -> None:
    message = f"Cannot use an object of type {type(code).__name__} as function code: {USAGE}."

    with pytest.raises(InvalidParameterValueException, match=exact(message)):
        package_code(code)


# --- callables -------------------------------------------------------------------------


@pytest.mark.process
@pytest.mark.timeout(60)
def test_function_using_only_modules_is_packaged_from_source(tmp_path: Path) -> None:
    code = package_code(json_handler)

    assert code.source_kind == "callable-source"
    assert code.default_handler == "lambda_function.json_handler"
    text = members(code)["lambda_function.py"].decode()
    assert list(members(code)) == ["lambda_function.py"]
    assert "\nimport json\n" in text
    assert "def json_handler(event, context):" in text
    assert run_handler(code, {"a": [1, 2]}, tmp_path) == '{"echo": {"a": [1, 2]}}'


@pytest.mark.process
@pytest.mark.timeout(60)
def test_decorators_are_stripped_and_aliases_kept(tmp_path: Path) -> None:
    code = package_code(decorated_handler)

    assert code.source_kind == "callable-source"
    text = members(code)["lambda_function.py"].decode()
    assert "@keep" not in text
    assert "import base64 as b64\nimport math\n" in text
    assert run_handler(code, {"x": 2.7}, tmp_path) == 2 + 4


@pytest.mark.process
@pytest.mark.timeout(60)
def test_submodules_used_through_their_package_are_imported(tmp_path: Path) -> None:
    code = package_code(xml_handler)

    assert code.source_kind == "callable-source"
    assert "\nimport xml\nimport xml.etree\nimport xml.etree.ElementTree\n" in (
        members(code)["lambda_function.py"].decode()
    )
    assert run_handler(code, {"xml": '<a id="7"/>'}, tmp_path) == {"id": "7"}


@pytest.mark.process
@pytest.mark.timeout(60)
def test_annotations_from_the_notebook_do_not_break_the_import(tmp_path: Path) -> None:
    code = package_code(annotated_handler)

    assert code.source_kind == "callable-source"
    assert run_handler(code, {"b": 1, "a": 2}, tmp_path) == {"keys": ["a", "b"]}


def test_recursive_function_is_packaged_from_source() -> None:
    code = package_code(countdown)

    assert code.source_kind == "callable-source"
    assert code.default_handler == "lambda_function.countdown"


@pytest.mark.process
@pytest.mark.timeout(60)
def test_closure_over_notebook_state_is_serialised_by_value(
    tmp_path: Path, notebook: Callable[..., dict[str, object]]
) -> None:
    cell = notebook(
        "CONFIG = {'greeting': 'hello'}\n"
        "\n"
        "def make_handler(punctuation):\n"
        "    def handler(event, context):\n"
        "        return CONFIG['greeting'] + ', ' + event['name'] + punctuation\n"
        "    return handler\n"
    )
    fn = cell["make_handler"]("!")

    code = package_code(fn)
    cell["CONFIG"]["greeting"] = "changed later"

    assert code.source_kind == "callable-dill"
    assert code.default_handler == "lambda_function.handler"
    files = members(code)
    assert sorted(files) == ["_handler.dill", "handler_source.py", "lambda_function.py"]
    assert b"def handler(event, context):\n" in files["handler_source.py"]
    assert b"import dill as _sandbox_dill" in files["lambda_function.py"]
    assert code.unzipped_size == sum(map(len, files.values()))
    assert run_handler(code, {"name": "Ada"}, tmp_path) == "hello, Ada!"


@pytest.mark.process
@pytest.mark.timeout(60)
def test_notebook_function_using_a_global_dict_goes_by_value(
    tmp_path: Path, notebook: Callable[..., dict[str, object]]
) -> None:
    cell = notebook(
        "import json\n"
        "PRICES = {'tea': 2}\n"
        "def lambda_handler(event, context):\n"
        "    return json.dumps(PRICES[event['item']] * event['n'])\n"
    )

    code = package_code(cell["lambda_handler"])

    assert code.source_kind == "callable-dill"
    assert code.default_handler == "lambda_function.lambda_handler"
    assert run_handler(code, {"item": "tea", "n": 3}, tmp_path) == "6"


@pytest.mark.process
@pytest.mark.timeout(60)
def test_importable_module_function_is_still_serialised_by_value(tmp_path: Path) -> None:
    code = package_code(greet)

    assert code.source_kind == "callable-dill"
    assert code.default_handler == "lambda_function.greet"
    # The test module is not importable in the child: this only works by value.
    assert run_handler(code, {"lang": "fr", "name": "Ada"}, tmp_path) == "bonjour, Ada"


@pytest.mark.process
@pytest.mark.timeout(60)
def test_lambda_is_bound_to_handler(tmp_path: Path) -> None:
    code = package_code(lambda event, context: {"doubled": event["x"] * 2})

    assert code.source_kind == "callable-dill"
    assert code.default_handler == "lambda_function.handler"
    assert run_handler(code, {"x": 21}, tmp_path) == {"doubled": 42}


def test_defaults_that_are_not_modules_go_by_value() -> None:
    assert package_code(with_dict_default).source_kind == "callable-dill"


def test_wrapped_function_goes_by_value() -> None:
    @functools.wraps(json_handler)
    def wrapper(event, context):
        return json_handler(event, context)

    code = package_code(wrapper)

    assert code.source_kind == "callable-dill"
    assert code.default_handler == "lambda_function.json_handler"


def test_other_callables_go_by_value() -> None:
    code = package_code(functools.partial(with_dict_default, table={"en": "hi"}))

    assert code.source_kind == "callable-dill"
    assert code.default_handler == "lambda_function.handler"


def test_callable_packaging_is_deterministic(notebook: Callable[..., dict[str, object]]) -> None:
    cell = notebook("N = {'a': 1}\ndef handler(event, context):\n    return N['a']\n")

    assert package_code(json_handler) == package_code(json_handler)
    first = package_code(cell["handler"])
    assert package_code(cell["handler"]) == first
    assert first.code_sha256 == zip_sha256(first.zip_bytes)


# --- build_zip and zip_sha256 ----------------------------------------------------------


def test_build_zip_is_deterministic_and_normalised() -> None:
    files = {"z.py": b"z", "a/b.py": b"b" * 500, "run.sh": b"#!/bin/sh\n"}

    data = build_zip(files, executable={"run.sh"})

    assert build_zip(dict(reversed(files.items())), executable=["run.sh"]) == data
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        assert [i.filename for i in infos] == ["a/b.py", "run.sh", "z.py"]
        assert all(i.date_time == EPOCH for i in infos)
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in infos)
        assert [i.external_attr >> 16 for i in infos] == [0o100644, 0o100755, 0o100644]
        assert archive.read("a/b.py") == b"b" * 500
    assert zip_sha256(data) == base64.b64encode(hashlib.sha256(data).digest()).decode()


@pytest.mark.parametrize("name", ["/abs.py", "../up.py", "a/../../b.py", ""])
def test_build_zip_refuses_escaping_names(name: str) -> None:
    message = f"Could not package file '{name}': archive names must be relative, without '..'."

    with pytest.raises(InvalidParameterValueException, match=exact(message)):
        build_zip({name: b"x"})


def test_build_zip_executable_must_name_a_file() -> None:
    with pytest.raises(ValueError, match=r"executable names not in files: \['nope'\]"):
        build_zip({"a": b""}, executable={"nope"})


def test_zip_sha256_is_awss_code_sha256() -> None:
    assert zip_sha256(b"") == "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
