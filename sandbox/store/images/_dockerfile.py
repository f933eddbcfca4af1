"""The Dockerfile interpreter: form 1 of an image, a directory holding a ``Dockerfile``.

Why it exists: students write Dockerfiles, and the sandbox has no Docker. A small, strict
subset of the language is interpreted here on top of an AWS Lambda base image, line by
line: lexing (continuations, quotes, escapes), ``$VAR``/``${VAR:-x}`` expansion, and the
instructions ``FROM``, ``ARG``, ``ENV``, ``WORKDIR``, ``COPY``/``ADD``, ``CMD`` and
``ENTRYPOINT``, writing into the image filesystem of :mod:`._rootfs`. What is refused and
why is listed in the package docstring of :mod:`sandbox.store.images`.
"""

from __future__ import annotations

import json
import posixpath
import re
import stat
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.errors import InvalidParameterValueException
from sandbox.store.images._rootfs import (
    _SKIPPED_DIRS,
    _TASK_ROOT,
    _ImageConfig,
    _inside,
    _invalid,
    _kept,
    _outside_context,
    _RootFS,
    _walk,
)

# The AWS Lambda Python base image's config (public.ecr.aws/lambda/python, 2024-2025).
_BASE_ENTRY_POINT = ("/lambda-entrypoint.sh",)
_BASE_ENV = (
    ("LANG", "en_US.UTF-8"),
    ("TZ", ":/etc/localtime"),
    ("PATH", "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin"),
    (
        "LD_LIBRARY_PATH",
        "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib",
    ),
    ("LAMBDA_TASK_ROOT", "/var/task"),
    ("LAMBDA_RUNTIME_DIR", "/var/runtime"),
)
_BASE = re.compile(
    r"(?:docker\.io/)?(?:public\.ecr\.aws/lambda/|amazon/aws-lambda-)(?P<family>python|provided)"
    r":(?P<tag>[^@]+)(?:@sha256:[0-9a-f]{64})?"
)
_TAG_SUFFIX = r"(?:\.\d{4}(?:\.\d+)*)?(?:-(?:x86_64|arm64))?"  # dated tags, architecture tags
_PYTHON_TAG = re.compile(rf"(3\.\d{{1,2}}){_TAG_SUFFIX}")
_PROVIDED_TAG = re.compile(rf"(al2023|al2){_TAG_SUFFIX}")
_SUPPORTED_BASES = (
    "public.ecr.aws/lambda/python:3.X or amazon/aws-lambda-python:3.X (runtime python3.X), "
    "public.ecr.aws/lambda/provided:al2023 or :al2 (runtime provided.al2023 / provided.al2)"
)
_IGNORED = frozenset({"LABEL", "USER", "EXPOSE", "STOPSIGNAL", "HEALTHCHECK", "MAINTAINER"})
_UNSUPPORTED = frozenset({"SHELL", "ONBUILD", "VOLUME"})
_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_URL = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*://|git@)")


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, instruction) with ``\\`` continuations joined, comments dropped."""
    pieces: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue  # Docker drops these even inside a continuation
        if not pieces:
            start = number
        if stripped.endswith("\\"):
            pieces.append(raw.rstrip()[:-1])
            continue
        pieces.append(raw)
        yield start, "".join(pieces).strip()
        pieces = []
    if pieces:
        yield start, "".join(pieces).strip()


def _lex(text: str, env: dict[str, str], *, split: bool = True) -> list[str]:
    """Docker's word processing: quotes, ``\\`` escapes and ``$VAR``/``${VAR:-x}`` expansion.

    Raises:
        ValueError: unbalanced quotes or braces (reported with the Dockerfile line).
    """
    words: list[str] = []
    word: list[str] = []
    quote, started, i = "", False, 0
    while i < len(text):
        char = text[i]
        if quote == "'" and char != "'":
            word.append(char)
        elif char == "\\" and i + 1 < len(text) and quote != "'":
            i += 1
            if quote == '"' and text[i] not in '"\\$':
                word.append(char)
            word.append(text[i])
        elif char == "$" and quote != "'":
            value, i = _expand_at(text, i, env)
            word.append(value)
            started = True
            continue
        elif char in "'\"" and quote in ("", char):
            quote = "" if quote else char
        elif split and not quote and char.isspace():
            if started:
                words.append("".join(word))
            word, started = [], False
            i += 1
            continue
        else:
            word.append(char)
        started = True
        i += 1
    if quote:
        raise ValueError(f"unterminated {quote} quote in: {text}")
    if started or not split:
        words.append("".join(word))
    return words


def _expand_at(text: str, i: int, env: dict[str, str]) -> tuple[str, int]:
    """The value of the ``$`` reference at ``text[i]``, and the index after it."""
    if text.startswith("${", i):
        end, depth = i + 2, 1
        while end < len(text) and depth:  # find the matching brace: ${A:-${B}} nests
            depth += {"{": 1, "}": -1}.get(text[end], 0)
            end += 1
        if depth:
            raise ValueError(f"missing '}}' in variable reference: {text}")
        end -= 1
        body = text[i + 2 : end]
        match = re.match(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])(.*))?$", body, re.S)
        if match is None:
            raise ValueError(
                f"unsupported variable reference ${{{body}}} (use ${{NAME}}, "
                "${NAME:-default} or ${NAME:+value})."
            )
        name, modifier, word = match.groups()
        value = env.get(name)
        if modifier:
            alt = _lex(word, env, split=False)[0]
            is_set = value is not None and (value != "" or not modifier.startswith(":"))
            value = (
                (value if is_set else alt) if modifier.endswith("-") else (alt if is_set else "")
            )
        return value or "", end + 1
    match = _VAR_NAME.match(text, i + 1)
    if match is None:
        return "$", i + 1
    return env.get(match.group(), ""), match.end()


def _json_words(rest: str) -> list[str] | None:
    """The exec (JSON array) form of an instruction's arguments, or None for shell form."""
    if not rest.startswith("["):
        return None
    try:
        value = json.loads(rest)
    except json.JSONDecodeError:
        return None  # Docker falls back to shell form too
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    return None


def _exec_form(rest: str) -> tuple[str, ...]:
    """CMD/ENTRYPOINT: a JSON array of strings, else shell form run by ``/bin/sh -c``."""
    words = _json_words(rest)
    return ("/bin/sh", "-c", rest) if words is None else tuple(words)


@dataclass(slots=True)
class _Build:
    context: Path
    fs: _RootFS
    line: int = 0
    runtime: str = ""
    env: dict[str, str] = field(default_factory=dict)
    args: dict[str, str] = field(default_factory=dict)
    global_args: dict[str, str] = field(default_factory=dict)
    workdir: str = _TASK_ROOT
    entry_point: tuple[str, ...] = ()
    command: tuple[str, ...] = ()

    def scope(self) -> dict[str, str]:
        return {**self.args, **self.env}

    def fail(self, message: str) -> InvalidParameterValueException:
        return _invalid(f"Dockerfile line {self.line}: {message}")

    def image_path(self, path: str, what: str) -> str:
        """An absolute path in the image, relative ones from WORKDIR; must be kept."""
        full = posixpath.normpath(posixpath.join(self.workdir, path))
        full = "/" + full.lstrip("/")
        if not _kept(full.lstrip("/")):
            raise self.fail(
                f"{what} {full} is outside /var/task and /opt. lambda-sandbox's image "
                "filesystem holds only those two trees: put function code under "
                "${LAMBDA_TASK_ROOT} (/var/task) and shared libraries under /opt."
            )
        return full


def _from_dockerfile(context: Path, fs: _RootFS) -> _ImageConfig:
    """Interpret the Dockerfile in ``context`` line by line on an AWS Lambda base image."""
    build = _Build(context, fs)
    text = (context / "Dockerfile").read_text(encoding="utf-8", errors="replace")
    for number, line in _logical_lines(text):
        build.line = number
        keyword, _, rest = line.replace("\t", " ").partition(" ")
        try:
            _do_instruction(build, keyword.upper(), rest.strip())
        except ValueError as exc:  # the word lexer's syntax errors
            raise build.fail(str(exc)) from exc
    if not build.runtime:
        raise _invalid(f"{context / 'Dockerfile'} has no FROM instruction.")
    return _ImageConfig(
        "dockerfile", build.runtime, build.entry_point, build.command, build.workdir, build.env
    )


def _do_instruction(build: _Build, keyword: str, rest: str) -> None:
    if not build.runtime and keyword not in ("FROM", "ARG"):
        raise build.fail(f"{keyword} before FROM: a Dockerfile must start with FROM.")
    if keyword == "FROM":
        _do_from(build, rest)
    elif keyword == "ARG":
        _do_arg(build, rest)
    elif keyword == "ENV":
        _do_env(build, rest)
    elif keyword == "WORKDIR":
        build.workdir = build.image_path(_lex(rest, build.scope(), split=False)[0], "WORKDIR")
        build.fs.add_dir(build.workdir.lstrip("/"), 0o755)
    elif keyword in ("COPY", "ADD"):
        _do_copy(build, keyword, rest)
    elif keyword == "CMD":
        build.command = _exec_form(rest)
    elif keyword == "ENTRYPOINT":
        build.entry_point = _exec_form(rest)
    elif keyword in _IGNORED:
        _lex(rest, build.scope())  # checked for syntax, otherwise no effect here
    elif keyword == "RUN":
        raise build.fail(
            "RUN is not supported: lambda-sandbox has no Docker to run commands in. "
            "Install dependencies into the image directory instead, e.g. "
            f"`pip install -t {build.context}/package -r requirements.txt`, and copy them "
            "with `COPY package/ ${LAMBDA_TASK_ROOT}/`."
        )
    elif keyword in _UNSUPPORTED:
        raise build.fail(f"{keyword} is not supported by lambda-sandbox.")
    else:
        raise build.fail(f"unknown instruction {keyword}.")


def _do_from(build: _Build, rest: str) -> None:
    if build.runtime:
        raise build.fail(
            "multi-stage builds are not supported: use a single FROM with an AWS Lambda "
            "base image, and build anything else into the image directory beforehand."
        )
    words = [w for w in _lex(rest, build.global_args) if not w.startswith("--platform=")]
    if len(words) == 3 and words[1].lower() == "as":
        words = words[:1]
    if len(words) != 1:
        raise build.fail(f"FROM takes one image (and optionally AS name): FROM {rest}")
    base = _BASE.fullmatch(words[0])
    family, tag = (base.group("family"), base.group("tag")) if base else ("", "")
    version = (_PYTHON_TAG if family == "python" else _PROVIDED_TAG).fullmatch(tag)
    if version is None:
        raise build.fail(f"base image {words[0]} is not supported. Use {_SUPPORTED_BASES}.")
    build.runtime = (
        f"python{version.group(1)}" if family == "python" else f"provided.{version.group(1)}"
    )
    build.env = dict(_BASE_ENV)
    build.entry_point = _BASE_ENTRY_POINT


def _do_arg(build: _Build, rest: str) -> None:
    for word in _lex(rest, build.scope()):
        name, has_default, default = word.partition("=")
        if not _VAR_NAME.fullmatch(name):
            raise build.fail(f"ARG name {name!r} is not a valid variable name.")
        if not build.runtime:  # before FROM: usable in FROM only (Docker)
            build.global_args[name] = default
        else:
            build.args[name] = default if has_default else build.global_args.get(name, "")


def _do_env(build: _Build, rest: str) -> None:
    scope = build.scope()  # every value of one ENV sees the variables from before it
    first, _, tail = rest.replace("\t", " ").partition(" ")
    if "=" not in first:  # legacy form: ENV key value with spaces
        if not first or not tail.strip():
            raise build.fail("ENV needs a value: ENV key=value.")
        build.env[first] = _lex(tail.strip(), scope, split=False)[0]
        return
    for word in _lex(rest, scope):
        name, equals, value = word.partition("=")
        if not equals or not name:
            raise build.fail(f"ENV expects key=value pairs, not {word!r}.")
        build.env[name] = value


def _do_copy(build: _Build, keyword: str, rest: str) -> None:
    mode: int | None = None
    while match := re.match(r"--([a-z-]+)(?:=(\S*))?\s+", rest):
        flag, value = match.group(1), match.group(2) or ""
        if flag == "from":
            raise build.fail(f"{keyword} --from needs a multi-stage build, which is not supported.")
        if flag == "chmod" and re.fullmatch(r"[0-7]{3,4}", value):
            mode = int(value, 8)
        elif flag not in ("chown", "chmod", "link", "checksum"):
            raise build.fail(f"{keyword} flag --{flag} is not supported.")
        rest = rest[match.end() :]
    words = _json_words(rest)
    if words is None:
        words = _lex(rest, build.scope())
    else:
        words = [_lex(word, build.scope(), split=False)[0] for word in words]
    if len(words) < 2:
        raise build.fail(f"{keyword} needs a source and a destination.")
    *sources, dest = words
    found = [path for source in sources for path in _sources(build, keyword, source)]
    as_dir = dest.endswith("/") or dest in (".", "") or dest.endswith("/.")
    target = build.image_path(dest, f"{keyword} destination")
    if len(found) > 1 and not as_dir:
        raise build.fail(  # Docker's rule and wording
            f"When using {keyword} with more than one source file, the destination must be "
            "a directory and end with a /"
        )
    for path in found:
        if path.is_dir():
            files = list(_walk(path, build.context))
            build.fs.add_dir(target.lstrip("/"), 0o755)
            into = target
        else:
            inside = as_dir or build.fs.is_dir(target.lstrip("/"))
            into = target if inside else posixpath.dirname(target)
            files = [(path.name if inside else posixpath.basename(target), path)]
        for name, full in files:
            info = full.stat()
            file_mode = mode if mode is not None else stat.S_IMODE(info.st_mode)
            dest_path = posixpath.join(into, name).lstrip("/")
            build.fs.add_file(dest_path, full.read_bytes, file_mode, info.st_size)


def _sources(build: _Build, keyword: str, source: str) -> list[Path]:
    if _URL.match(source):
        raise build.fail(
            f"{keyword} from a URL ({source}) is not supported: download the file into the "
            "image directory and COPY it."
        )
    relative = posixpath.normpath(source.lstrip("/") or ".")
    if relative == ".." or relative.startswith("../"):
        raise build.fail(
            f"{keyword} failed: forbidden path outside the build context: {source}. Sources "
            f"are relative to the image directory {build.context}."
        )
    if any(char in relative for char in "*?["):
        matches = sorted(build.context.glob(relative))
    else:
        candidate = build.context / relative
        matches = [candidate] if candidate.exists() else []
    matches = [m for m in matches if m.name not in _SKIPPED_DIRS and m.suffix != ".pyc"]
    if not matches:
        raise build.fail(f"{keyword} failed: {source} not found in {build.context}.")
    for match in matches:
        if not _inside(match, build.context):
            raise _outside_context(match, build.context)
        if keyword == "ADD" and match.is_file() and tarfile.is_tarfile(match):
            raise build.fail(
                f"ADD {source}: Docker would extract this archive, which lambda-sandbox does "
                "not do. Extract it into the image directory and COPY the result."
            )
    return matches
