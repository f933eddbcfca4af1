"""Turn whatever a student hands over as "function code" into one deterministic zip.

Why it exists: real Lambda only takes a zip (spec §6, §10), but in a notebook the code
is a dict from a boto3 example, a folder, a string of source, or a function defined two
cells up. Everything becomes a zip here, with AWS's quotas and messages, so the rest of
the sandbox only ever sees (zip bytes, CodeSha256) - exactly what AWS stores.

Zips built here are deterministic (sorted entries, fixed dates and permissions), so
packaging the same code twice gives the same bytes and the same ``CodeSha256``, and
publishing unchanged code is recognisable as unchanged, as on AWS. Uploaded zips are
kept byte for byte: their ``CodeSha256`` is the one AWS would report for that file.

A notebook function is packaged from its source when that is enough to rebuild it (it
only uses builtins and imported modules); otherwise it is serialised by value with
``dill`` and a small ``lambda_function.py`` loads it.
"""

from __future__ import annotations

import ast
import base64
import builtins
import dis
import hashlib
import inspect
import io
import keyword
import os
import stat
import sys
import textwrap
import types
import zipfile
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.errors import InvalidParameterValueException, RequestTooLargeException
from sandbox.store.artifacts import MAX_UNZIPPED_SIZE, ZipReader, unzipped_too_large

__all__ = [
    "HANDLER_MODULE",
    "MAX_ZIPPED_SIZE",
    "REQUEST_SIZE_LIMIT",
    "CodePackage",
    "build_zip",
    "package_code",
    "zip_sha256",
]

# spec §6/§10: direct zip upload <= 50 MB (AccountLimit.CodeSizeZipped).
MAX_ZIPPED_SIZE = 52_428_800
# spec §10 ("CreateFunction request <= ~70 MB after base64"): the request limit AWS names
# in its 413 answer, "Request must be smaller than 70167211 bytes for the CreateFunction
# operation" (seen in public issues 2023-2025; 69905067 before). AWS measures the HTTP
# request; the sandbox has no request, so it answers this way when the zip is over 50 MB.
REQUEST_SIZE_LIMIT = 70_167_211
# The module a generated package puts the handler in (the AWS console's default).
HANDLER_MODULE = "lambda_function"

_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip can hold
_DILL_FILE = "_handler.dill"
_SOURCE_FILE = "handler_source.py"
_SKIPPED_DIRS = frozenset({"__pycache__"})
_DEFINING_STATEMENTS = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Assign,
    ast.AnnAssign,
    ast.AugAssign,
    ast.Import,
    ast.ImportFrom,
)
_GLOBAL_OPS = frozenset(
    {"LOAD_GLOBAL", "LOAD_NAME", "STORE_GLOBAL", "DELETE_GLOBAL", "LOAD_FROM_DICT_OR_GLOBALS"}
)
_USAGE = (
    "pass Code={'ZipFile': <zip bytes>}, a path to a directory or .zip file, "
    "Python source text, or a callable"
)


@dataclass(frozen=True, slots=True)
class CodePackage:
    """Function code as Lambda stores it.

    Attributes:
        zip_bytes: the deployment package.
        code_sha256: base64 of the SHA-256 of ``zip_bytes`` (AWS's ``CodeSha256``).
        code_size: ``len(zip_bytes)`` (AWS's ``CodeSize``).
        unzipped_size: the bytes the package extracts to.
        default_handler: ``"lambda_function.<name>"`` when the handler can be told from
            the code (source or a callable), else ``None``.
        source_kind: ``"zip"``, ``"directory"``, ``"source"``, ``"callable-source"`` or
            ``"callable-dill"``.
    """

    zip_bytes: bytes = field(repr=False)
    code_sha256: str
    code_size: int
    unzipped_size: int
    default_handler: str | None
    source_kind: str


def zip_sha256(zip_bytes: bytes) -> str:
    """Return AWS's ``CodeSha256`` for a package: base64 of its SHA-256 digest.

    >>> zip_sha256(b"")
    '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='
    """
    return base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode("ascii")


def build_zip(files: Mapping[str, bytes], *, executable: Collection[str] = ()) -> bytes:
    """Build a deterministic zip: same files in, same bytes out.

    Entries are sorted by name, dated 1980-01-01 00:00:00, deflated, and marked as Unix
    regular files with mode 0o644 (0o755 for names in ``executable``). Nothing about the
    machine or the moment leaks in. (The compressed bytes can differ between zlib builds.)

    Args:
        files: archive name (relative, ``/``-separated) to content.
        executable: names to mark executable.

    Returns:
        The zip's bytes.

    Raises:
        InvalidParameterValueException: a name is absolute or has a ``..`` component.
        ValueError: ``executable`` names a file that is not in ``files``.
    """
    unknown = set(executable) - set(files)
    if unknown:
        raise ValueError(f"executable names not in files: {sorted(unknown)}")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            _check_archive_name(name)
            info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so that the mode bits below are honoured
            mode = 0o755 if name in executable else 0o644
            info.external_attr = (stat.S_IFREG | mode) << 16
            archive.writestr(info, files[name], compresslevel=6)
    return buffer.getvalue()


def package_code(code: object, *, operation: str = "CreateFunction") -> CodePackage:
    """Package function code given in any of the forms a notebook user reaches for.

    ``code`` may be:

    * ``{"ZipFile": bytes}`` - boto3's ``Code`` argument (no S3 or ECR here);
    * ``bytes`` / ``bytearray`` - a zip file's content;
    * a path (``pathlib.Path``, or a one-line ``str`` naming an existing file or
      directory) - a directory is zipped recursively without ``__pycache__`` and
      ``*.pyc``, symlinks followed; a file must be a zip;
    * a ``str`` of Python source defining something - it becomes ``lambda_function.py``;
    * a callable - packaged from its source when it only uses builtins and imported
      modules, otherwise serialised by value with dill.

    Uploaded zips are kept byte for byte and fully checked (names, real sizes, CRCs);
    zips built here are deterministic.

    Args:
        code: the function code.
        operation: the API operation named in the too-large error
            (``"CreateFunction"``, ``"UpdateFunctionCode"``, ``"PublishLayerVersion"``).

    Returns:
        The package, its ``CodeSha256`` and sizes, and a default handler when known.

    Raises:
        RequestTooLargeException: the zip is over 50 MB.
        InvalidParameterValueException: unsupported ``Code`` keys, a missing path,
            a corrupt or unsafe zip, an unzipped size over 250 MB, or an object that
            is not code.
    """
    if isinstance(code, Mapping):
        return _from_zip_bytes(_zip_file_of(code), operation)
    if isinstance(code, bytes | bytearray | memoryview):
        return _from_zip_bytes(bytes(code), operation)
    if isinstance(code, os.PathLike):
        return _from_path(Path(os.fspath(code)), operation)
    if isinstance(code, str):
        return _from_str(code, operation)
    if callable(code):
        return _from_callable(code, operation)
    raise InvalidParameterValueException(
        f"Cannot use an object of type {type(code).__name__} as function code: {_USAGE}."
    )


# --- zips given by the user ----------------------------------------------------------------


def _zip_file_of(code: Mapping[object, object]) -> bytes:
    if not code:
        # spec §6 (Content {ZipFile | S3...}); AWS's 400 for a Code with no source in it.
        raise InvalidParameterValueException("Please provide a source for function code.")
    unsupported = sorted(str(key) for key in code if key not in ("ZipFile", "SourceKMSKeyArn"))
    if unsupported or "ZipFile" not in code:
        keys = ", ".join(f"'{key}'" for key in unsupported or map(str, code))
        raise InvalidParameterValueException(
            f"lambda-sandbox has no S3 or ECR, so it cannot use Code keys {keys}: {_USAGE}."
        )
    zip_file = code["ZipFile"]
    if not isinstance(zip_file, bytes | bytearray | memoryview):
        raise InvalidParameterValueException(
            f"ZipFile must be the zip file's bytes, not a {type(zip_file).__name__}."
        )
    return bytes(zip_file)


def _from_zip_bytes(zip_bytes: bytes, operation: str) -> CodePackage:
    _check_zipped_size(zip_bytes, operation)
    with ZipReader(zip_bytes, max_unzipped=MAX_UNZIPPED_SIZE) as reader:
        unzipped = reader.verify()
    return _package(zip_bytes, unzipped, None, "zip")


def _check_zipped_size(zip_bytes: bytes, operation: str) -> None:
    # spec §6/§10: direct upload <= 50 MB; AWS answers 413 naming its request limit.
    if len(zip_bytes) > MAX_ZIPPED_SIZE:
        raise RequestTooLargeException(
            f"Request must be smaller than {REQUEST_SIZE_LIMIT} bytes for the {operation} operation"
        )


def _package(zip_bytes: bytes, unzipped: int, handler: str | None, kind: str) -> CodePackage:
    return CodePackage(
        zip_bytes=zip_bytes,
        code_sha256=zip_sha256(zip_bytes),
        code_size=len(zip_bytes),
        unzipped_size=unzipped,
        default_handler=handler,
        source_kind=kind,
    )


def _check_archive_name(name: str) -> None:
    parts = name.split("/")
    if not name or name.startswith("/") or ".." in parts or "\x00" in name:
        raise InvalidParameterValueException(
            f"Could not package file '{name}': archive names must be relative, without '..'."
        )


# --- paths -----------------------------------------------------------------------------------


def _missing_path(path: str) -> InvalidParameterValueException:
    return InvalidParameterValueException(
        f"Code path does not exist: '{path}'. To give code, {_USAGE}."
    )


def _is_existing_path(text: str) -> bool:
    try:
        return Path(text).expanduser().exists()
    except (OSError, ValueError):  # too long for a file name, NUL byte...
        return False


def _from_path(path: Path, operation: str) -> CodePackage:
    path = path.expanduser()
    if path.is_dir():
        return _from_directory(path, operation)
    if not path.is_file():
        raise _missing_path(str(path))
    if path.suffix == ".py":
        raise InvalidParameterValueException(
            f"'{path}' is a Python file, not a zip: pass its directory, or its source text "
            "(Path(...).read_text())."
        )
    return _from_zip_bytes(path.read_bytes(), operation)


def _walk_files(root: Path) -> Iterator[Path]:
    """Files under ``root``, following symlinks (as ``zip -r`` does) but not in circles."""
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIPPED_DIRS)
        for filename in sorted(filenames):
            full = Path(dirpath, filename)
            if not filename.endswith(".pyc") and full.is_file():
                yield full


def _from_directory(root: Path, operation: str) -> CodePackage:
    paths = list(_walk_files(root))
    unzipped = sum(p.stat().st_size for p in paths)
    # spec §6: unzipped size limit, checked before reading anything.
    if unzipped > MAX_UNZIPPED_SIZE:
        raise unzipped_too_large(MAX_UNZIPPED_SIZE)
    files: dict[str, bytes] = {}
    executable: set[str] = set()
    for full in paths:
        name = full.relative_to(root).as_posix()
        files[name] = full.read_bytes()
        if full.stat().st_mode & 0o111:
            executable.add(name)
    zip_bytes = build_zip(files, executable=executable)
    _check_zipped_size(zip_bytes, operation)
    return _package(zip_bytes, sum(map(len, files.values())), None, "directory")


# --- source text -----------------------------------------------------------------------------


def _from_str(code: str, operation: str) -> CodePackage:
    if "\n" not in code and code.strip() and _is_existing_path(code):
        return _from_path(Path(code), operation)
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError) as exc:
        if "\n" not in code:
            raise _missing_path(code) from exc
        line = getattr(exc, "lineno", None)
        where = f" (line {line})" if line else ""
        raise InvalidParameterValueException(
            f"Function source is not valid Python: {getattr(exc, 'msg', exc)}{where}."
        ) from exc
    if not any(isinstance(node, _DEFINING_STATEMENTS) for node in tree.body):
        if "\n" not in code:
            raise _missing_path(code)
        raise InvalidParameterValueException(
            "Function source defines nothing (no def, class, import or assignment)."
        )
    handler = _handler_in(tree)
    zip_bytes = build_zip({f"{HANDLER_MODULE}.py": code.encode("utf-8")})
    _check_zipped_size(zip_bytes, operation)
    default = f"{HANDLER_MODULE}.{handler}" if handler else None
    return _package(zip_bytes, len(code.encode("utf-8")), default, "source")


def _takes_event_and_context(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    args = node.args
    positional = len(args.posonlyargs) + len(args.args)
    required = positional - len(args.defaults)
    kw_required = sum(default is None for default in args.kw_defaults)
    return required <= 2 and (positional >= 2 or args.vararg is not None) and not kw_required


def _handler_in(tree: ast.Module) -> str | None:
    """The top-level function Lambda can call as (event, context), by preference."""
    names = [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and _takes_event_and_context(node)
    ]
    for preferred in ("lambda_handler", "handler"):
        if preferred in names:
            return preferred
    return names[0] if names else None


# --- callables -------------------------------------------------------------------------------


def _from_callable(fn: Callable[..., object], operation: str) -> CodePackage:
    if isinstance(fn, types.FunctionType) and fn.__name__ != "<lambda>":
        source = _rebuildable_source(fn)
        if source is not None:
            files = {f"{HANDLER_MODULE}.py": source.encode("utf-8")}
            return _callable_package(files, fn.__name__, "callable-source", operation)
    return _dill_package(fn, operation)


def _callable_package(files: dict[str, bytes], name: str, kind: str, operation: str) -> CodePackage:
    zip_bytes = build_zip(files)
    _check_zipped_size(zip_bytes, operation)
    unzipped = sum(map(len, files.values()))
    # spec §6: unzipped size limit (a dill blob can carry a lot of notebook state).
    if unzipped > MAX_UNZIPPED_SIZE:
        raise unzipped_too_large(MAX_UNZIPPED_SIZE)
    return _package(zip_bytes, unzipped, f"{HANDLER_MODULE}.{name}", kind)


def _global_names(code: types.CodeType) -> Iterator[str]:
    """Names the code (and code nested in it) looks up as globals; attributes excluded."""
    for instruction in dis.get_instructions(code):
        if instruction.opname in _GLOBAL_OPS:
            yield str(instruction.argval)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _global_names(const)


def _all_names(code: types.CodeType) -> set[str]:
    """Every name the code uses: globals and attributes (``co_names``), nested code too."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _all_names(const)
    return names


def _function_source(fn: types.FunctionType) -> tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    """The dedented ``def`` of ``fn`` without decorators, and its AST.

    Raises:
        ValueError: no source, or source that is not exactly this function.
    """
    if hasattr(fn, "__wrapped__"):  # inspect would show the wrapped function's source
        raise ValueError("wrapped function")
    try:
        text = textwrap.dedent(inspect.getsource(fn))
        tree = ast.parse(text)
    except (OSError, TypeError, SyntaxError, IndentationError) as exc:
        raise ValueError("no usable source") from exc
    node = tree.body[0] if len(tree.body) == 1 else None
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or node.name != fn.__name__:
        raise ValueError("source is not a single def of this function")
    lines = text.splitlines(keepends=True)
    body = "".join(lines[node.lineno - 1 : node.end_lineno])
    return body, node


def _module_imports(fn: types.FunctionType, extra_names: Collection[str]) -> list[str] | None:
    """``import`` lines rebuilding the globals ``fn`` uses, or None if some are not modules.

    ``import xml.etree.ElementTree`` binds ``xml``; a plain ``import xml`` would not load
    ``xml.etree``. So loaded submodules whose path the code spells out as attributes
    (``xml.etree.ElementTree.parse``) are imported too.
    """
    imports: set[str] = set()
    attributes = _all_names(fn.__code__)
    for name in {*_global_names(fn.__code__), *extra_names}:
        if name in fn.__globals__:
            value = fn.__globals__[name]
            if value is fn and name == fn.__name__:
                continue  # recursion: the def itself binds it
            if not isinstance(value, types.ModuleType):
                return None
            module = value.__name__
            if module == "__main__" or sys.modules.get(module) is not value:
                return None  # not importable by name in another process
            imports.add(f"import {module}" if module == name else f"import {module} as {name}")
            prefix = f"{module}."
            imports.update(
                f"import {loaded}"
                for loaded in list(sys.modules)
                if loaded.startswith(prefix) and set(loaded[len(prefix) :].split(".")) <= attributes
            )
        elif not hasattr(builtins, name):
            return None  # unbound yet: leave it to dill, which sees the notebook later
    return sorted(imports)


def _rebuildable_source(fn: types.FunctionType) -> str | None:
    """``lambda_function.py`` recreating ``fn`` from source, or None if source is not enough."""
    if fn.__closure__:
        return None  # closed-over values are not in the source
    try:
        body, node = _function_source(fn)
    except ValueError:
        return None
    # Defaults are evaluated where the def runs: their names must be importable too.
    default_names = {
        sub.id
        for default in [*node.args.defaults, *node.args.kw_defaults]
        if default is not None
        for sub in ast.walk(default)
        if isinstance(sub, ast.Name)
    }
    imports = _module_imports(fn, default_names)
    if imports is None:
        return None
    header = (
        f'"""Generated by lambda-sandbox from the function {fn.__name__!r} (its source)."""\n\n'
        # Annotations stay strings, so a type from the notebook cannot break the import.
        "from __future__ import annotations\n\n"
    )
    text = header + "".join(f"{line}\n" for line in imports) + "\n\n" + body
    try:
        ast.parse(text)
    except SyntaxError:  # pragma: no cover - the pieces parsed on their own
        return None
    return text


def _binding_name(fn: Callable[..., object]) -> str:
    name = getattr(fn, "__name__", "")
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        return "handler"
    if name.startswith("_sandbox_"):
        return "handler"
    return name


def _by_value(fn: Callable[..., object]) -> Callable[..., object]:
    """A copy of a module-level function that dill must pickle by value, not by import.

    dill pickles a function it can re-import (``module.qualname``) as a reference,
    which would need the notebook's modules inside the execution environment.
    """
    if not isinstance(fn, types.FunctionType) or fn.__module__ == "__main__":
        return fn
    copy = types.FunctionType(
        fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__
    )
    copy.__kwdefaults__ = fn.__kwdefaults__
    copy.__qualname__ = fn.__qualname__
    copy.__dict__.update(fn.__dict__)
    copy.__module__ = "__main__"
    return copy


def _dill_package(fn: Callable[..., object], operation: str) -> CodePackage:
    import dill  # heavy, and only needed for this route

    try:
        blob = dill.dumps(_by_value(fn), recurse=True)
    except Exception as exc:
        raise InvalidParameterValueException(
            f"Cannot package {fn!r}: dill could not serialise it ({exc})."
        ) from exc
    name = _binding_name(fn)
    loader = (
        f'"""Generated by lambda-sandbox: the handler {name!r}, serialised by value with dill.\n'
        "\n"
        "Its source alone could not rebuild it (it uses notebook state or a closure), so\n"
        f"{_DILL_FILE} holds the function and what it uses. {_SOURCE_FILE}, when present,\n"
        'shows its source, for reading only.\n"""\n'
        "\n"
        "import pathlib as _sandbox_pathlib\n"
        "\n"
        "import dill as _sandbox_dill\n"
        "\n"
        f"{name} = _sandbox_dill.loads(\n"
        f'    _sandbox_pathlib.Path(__file__).with_name("{_DILL_FILE}").read_bytes()\n'
        ")\n"
    )
    files = {f"{HANDLER_MODULE}.py": loader.encode("utf-8"), _DILL_FILE: blob}
    source = _readable_source(fn)
    if source is not None:
        files[_SOURCE_FILE] = source.encode("utf-8")
    return _callable_package(files, name, "callable-dill", operation)


def _readable_source(fn: Callable[..., object]) -> str | None:
    try:
        text = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError):
        return None
    return (
        "# For reading only: lambda-sandbox runs this handler from _handler.dill,\n"
        "# not from this file (which may not import on its own).\n\n" + text
    )
