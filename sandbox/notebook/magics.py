"""The ``%lambda`` / ``%%lambda`` magics: drive a :class:`~sandbox.Sandbox` from cells.

One magic with git-like subcommands (``%lambda invoke f``, ``%%lambda create f`` ...), each
with ``--help``. Every subcommand is a thin view (STYLE.md): parse the line with
:func:`shlex.split` and an :mod:`argparse` parser, make one service call, render the answer.

Choices made here, and why:

* **Which sandbox.** The magics drive ``Sandbox()`` on the default store
  (``$LAMBDA_SANDBOX_HOME`` or ``~/.lambda-sandbox``), opened on first use, because that is
  what survives a kernel restart — the functions a student deployed yesterday are still
  there. ``%lambda use --ephemeral`` switches to a throwaway one, ``%lambda use --home PATH``
  to another store, ``%lambda use VAR`` to a ``Sandbox`` the notebook already holds. The
  sandbox in use is also ``_lambda_sandbox`` in the user namespace.
* **Errors** are one line, never a traceback from inside the sandbox: bad usage and every
  AWS-shaped error (``ResourceNotFoundException: Function not found: ...``) raise IPython's
  :class:`~IPython.core.error.UsageError`. IPython shows it as one line, and the execute
  reply has status ``error``, so a notebook run by nbclient (CI) stops there. A *function*
  error is not an error of the magic: it is a result (``FunctionError: Unhandled``).
* **Output.** Queries return their answer, displayed as rich output: ``invoke`` returns the
  :class:`~sandbox.core.invocation.InvokeResult` itself (so ``r = %lambda invoke f``
  works; the extension registers text and HTML formatters for it), ``ls``/``versions``
  return a :class:`Table`, ``explain`` an ``Explanation``. Actions (``create``, ``publish``,
  ``alias`` ...) print one confirmation line, so several of them in one cell all report.

Transcript::

    In [1]: %load_ext sandbox
    In [2]: %%lambda create hello --memory 256
       ...: def lambda_handler(event, context):
       ...:     return {"hello": event.get("name", "world")}
    Created hello ($LATEST): python3.13, lambda_function.lambda_handler, 256 MB, 3 s
    In [3]: %lambda invoke hello --payload '{"name": "Ada"}'
    Out[3]:
    StatusCode 200 · ExecutedVersion $LATEST · RequestId 6f1c...
    {
      "hello": "Ada"
    }
    REPORT RequestId: 6f1c...  Duration: 1.02 ms ...
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import queue
import shlex
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, cast

from IPython.core.error import TryNext, UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand

from sandbox import errors
from sandbox._sandbox import Sandbox
from sandbox.core.invocation import InvokeResult
from sandbox.notebook.commandline import (
    CELL_COMMANDS,
    COMMANDS,
    PARSER,
    HelpShown,
    all_pages,
    complete,
)
from sandbox.notebook.magics_async import AsyncMagics
from sandbox.store.packaging import build_zip

__all__ = [
    "COMMANDS",
    "LambdaMagics",
    "Table",
    "complete",
    "load_ipython_extension",
    "unload_ipython_extension",
]

SANDBOX_VAR = "_lambda_sandbox"
"""The user-namespace name of the sandbox the magics drive."""


# --- rendering -------------------------------------------------------------------------


class Table:
    """Rows for people: plain text in a terminal, an HTML table in a notebook.

    Attributes:
        columns: the header.
        rows: the values, one tuple per row.
    """

    def __init__(self, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        self.columns = tuple(columns)
        self.rows = [tuple("" if v is None else v for v in row) for row in rows]

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        cells = [self.columns, *[tuple(str(v) for v in row) for row in self.rows]]
        widths = [max(len(str(row[i])) for row in cells) for i in range(len(self.columns))]
        lines = [
            "  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
            for row in cells
        ]
        if not self.rows:
            lines.append("(none)")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
            for row in self.rows
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def invoke_text(result: InvokeResult) -> str:
    """The status line, the payload as pretty JSON, and the REPORT line — or the whole log
    tail when the result carries one (``--tail``: LogType Tail)."""
    parts = [f"StatusCode {result.status_code}"]
    if result.status_code == 202:
        parts.append("queued (Event)")
    elif result.status_code == 204:
        parts.append("DryRun: the request is valid")
    if result.function_error:
        parts.append(f"FunctionError {result.function_error}")
    if result.executed_version:
        parts.append(f"ExecutedVersion {result.executed_version}")
    parts.append(f"RequestId {result.request_id}")
    lines = [" · ".join(parts)]
    if result.status_code == 200:
        lines.append(json.dumps(result.payload, indent=2, ensure_ascii=False, default=str))
    if result.log_result is not None:
        tail = base64.b64decode(result.log_result).decode("utf-8", "replace").rstrip("\n")
        lines += ["--- log tail ---", tail]
    else:
        lines += [line for line in result.logs if line.startswith("REPORT")][-1:]
    return "\n".join(lines)


def invoke_html(result: InvokeResult) -> str:
    """:func:`invoke_text` for a notebook: the status line bold, the rest preformatted."""
    head, _, rest = invoke_text(result).partition("\n")
    color = "#b00" if result.function_error else "inherit"
    return (
        f'<div><b style="color:{color}">{html.escape(head)}</b><pre>{html.escape(rest)}</pre></div>'
    )


# --- the magics ------------------------------------------------------------------------

_Decorator = Callable[[Callable[..., object]], Callable[..., object]]
_line_cell_magic = cast(Callable[[str], _Decorator], line_cell_magic)  # IPython's are untyped
_no_var_expand = cast(_Decorator, no_var_expand)


@magics_class
class LambdaMagics(AsyncMagics, Magics):
    """``%lambda COMMAND ...`` and ``%%lambda COMMAND ...``; ``%lambda --help`` lists the
    commands, ``%lambda COMMAND --help`` explains one."""

    _sandbox: Sandbox | None = None
    _owned = False  # opened by the magics, so closed by them

    # which sandbox -----------------------------------------------------------------
    @property
    def sandbox(self) -> Sandbox:
        """The sandbox the magics drive: ``Sandbox()`` on the default store, opened on
        first use, unless :meth:`use` chose another."""
        if self._sandbox is None or self._sandbox.closed:
            self.use(Sandbox(), owned=True)
        assert self._sandbox is not None
        return self._sandbox

    def use(self, sandbox: Sandbox, *, owned: bool = False) -> None:
        """Drive ``sandbox`` from now on; close the previous one if the magics opened it.
        ``owned``: the magics close ``sandbox`` when they switch away or unload."""
        previous, was_owned = self._sandbox, self._owned
        self._sandbox, self._owned = sandbox, owned
        if self.shell is not None:
            self.shell.user_ns[SANDBOX_VAR] = sandbox
        if was_owned and previous is not None and previous is not sandbox:
            previous.close()

    def close(self) -> None:
        """Close the sandbox if the magics opened it (extension unload)."""
        if self._owned and self._sandbox is not None:
            self._sandbox.close()
        self._sandbox, self._owned = None, False

    # the magic ---------------------------------------------------------------------
    @_no_var_expand
    @_line_cell_magic("lambda")
    def lambda_magic(self, line: str, cell: str | None = None) -> object:
        """Drive the local Lambda sandbox: ``%lambda --help`` lists the commands.

        ::

            %%lambda create hello --memory 256 --env STAGE=dev
            def lambda_handler(event, context):
                return {"hello": event.get("name", "world")}

            %lambda invoke hello --payload '{"name": "Ada"}'
            r = %lambda invoke hello:live --tail
            %lambda publish hello
            %lambda alias hello live 1 --weight 2=0.1
            %lambda concurrency hello 5
            %lambda provisioned hello live 2 --wait
            %lambda logs hello --lines 5
            %%lambda layer helpers
            %lambda layers
            %lambda ls
            %lambda versions hello
            %lambda destinations hello --on-failure arn:aws:sqs:us-east-1:123456789012:q
            %lambda async hello
            %lambda explain REQUEST_ID
            %lambda use --ephemeral
        """
        try:
            argv = shlex.split(line)
        except ValueError as exc:
            raise UsageError(f"%lambda: {exc} in {line!r}") from exc
        try:
            args = PARSER.parse_args(argv)
        except HelpShown:
            return None
        if cell is not None and args.command not in CELL_COMMANDS:
            raise UsageError(f"%%lambda {args.command} takes no cell body: use %lambda")
        handler: Callable[[argparse.Namespace, str | None], object] = getattr(
            self, "_" + args.command.replace("-", "_")
        )
        try:
            return handler(args, cell)
        except errors.LambdaError as exc:
            raise UsageError(f"{exc.code}: {exc.message}") from exc
        except errors.SandboxError as exc:
            raise UsageError(f"{type(exc).__name__}: {exc}") from exc

    # subcommands: parse (done), one service call, render ------------------------------
    def _create(self, args: argparse.Namespace, cell: str | None) -> None:
        if cell is None:
            raise UsageError("create needs the function's code: %%lambda create NAME + source")
        options = {
            "memory_size": args.memory,
            "timeout": args.timeout,
            "runtime": args.runtime,
            "handler": args.handler,
            "description": args.description,
        }
        config = self.sandbox.create_function(
            args.name,
            cell,
            environment=dict(args.env) or None,
            layers=args.layer,
            publish=args.publish,
            **{k: v for k, v in options.items() if v is not None},
        )
        print(f"Created {_summary(config)}")

    def _update(self, args: argparse.Namespace, cell: str | None) -> None:
        if cell is None:
            raise UsageError("update needs the new code: %%lambda update NAME + source")
        config = self.sandbox.update_function_code(args.name, cell, publish=args.publish)
        print(f"Updated {_summary(config)} CodeSha256 {config.code_sha256[:12]}…")

    def _invoke(self, args: argparse.Namespace, cell: str | None) -> InvokeResult:
        payload: object = cell if cell is not None and cell.strip() else args.payload
        if args.event is not None:
            payload = self._event(args.event, args.target)
        kind = "Event" if args.asynchronous else "DryRun" if args.dry_run else "RequestResponse"
        return self.sandbox.invoke(
            args.target,
            payload,
            invocation_type=kind,
            log_type="Tail" if args.tail else "None",
        )

    def _event(self, var: str, target: str) -> object:
        """``--event VAR``: a dict (or list) or a JSON str from the user namespace, else a
        saved test event of the function (once the Events issue provides them)."""
        missing = object()
        value = self.shell.user_ns.get(var, missing) if self.shell is not None else missing
        if value is missing:
            get_test_event = getattr(self.sandbox, "get_test_event", None)
            if get_test_event is None:
                raise UsageError(f"--event {var}: no variable {var!r} in the namespace")
            function = target if target.startswith("arn:") else target.partition(":")[0]
            try:
                return get_test_event(function, var)
            except errors.LambdaError as exc:
                raise UsageError(
                    f"--event {var}: no variable {var!r}, and {exc.code}: {exc.message}"
                ) from exc
        if isinstance(value, str | bytes | dict | list):
            return value
        raise UsageError(
            f"--event {var}: expected a dict or a JSON str, got {type(value).__name__}"
        )

    def _publish(self, args: argparse.Namespace, cell: str | None) -> None:
        config = self.sandbox.publish_version(args.name, description=args.description)
        print(f"Published {config.function_name} version {config.version}")

    def _alias(self, args: argparse.Namespace, cell: str | None) -> None:
        weights = dict([args.weight]) if args.weight else {}
        routing = {"AdditionalVersionWeights": weights}
        sb = self.sandbox
        try:
            alias = sb.create_alias(
                args.name,
                args.alias,
                args.version,
                description=args.description or "",
                routing_config=routing,
            )
            verb = "Created"
        except errors.ResourceConflictException:  # it exists: move it
            alias = sb.update_alias(
                args.name,
                args.alias,
                function_version=args.version,
                description=args.description,
                routing_config=routing,
            )
            verb = "Updated"
        extra = "".join(
            f", {w:g} to version {v}" for v, w in alias.additional_version_weights.items()
        )
        print(f"{verb} alias {args.name}:{alias.name} -> version {alias.function_version}{extra}")

    def _concurrency(self, args: argparse.Namespace, cell: str | None) -> None:
        sb = self.sandbox
        reserved: int | None = None
        if args.delete:
            sb.delete_function_concurrency(args.name)
        elif args.count is not None:
            put = sb.put_function_concurrency(args.name, args.count)
            reserved = put.reserved_concurrent_executions
        else:
            reserved = sb.get_function_concurrency(args.name).reserved_concurrent_executions
        if reserved is None:
            print(f"{args.name}: no reserved concurrency (it uses the unreserved pool)")
        else:
            print(f"{args.name}: reserved concurrency {reserved}")

    def _provisioned(self, args: argparse.Namespace, cell: str | None) -> None:
        sb, name, qualifier = self.sandbox, args.name, args.qualifier
        if args.delete:
            sb.delete_provisioned_concurrency_config(name, qualifier)
            print(f"{name}:{qualifier}: provisioned concurrency deleted")
            return
        if args.count is not None:
            config = sb.put_provisioned_concurrency_config(name, qualifier, args.count)
        if args.wait:
            config = sb.wait_for_provisioned_concurrency(name, qualifier)
        elif args.count is None:
            config = sb.get_provisioned_concurrency_config(name, qualifier)
        reason = f" ({config.status_reason})" if config.status_reason else ""
        print(
            f"{name}:{qualifier}: provisioned concurrency {config.status}{reason}: requested "
            f"{config.requested_provisioned_concurrent_executions}, allocated "
            f"{config.allocated_provisioned_concurrent_executions}, available "
            f"{config.available_provisioned_concurrent_executions}"
        )

    def _logs(self, args: argparse.Namespace, cell: str | None) -> None:
        sb = self.sandbox
        sb.get_function_configuration(args.name)  # ResourceNotFoundException for a typo
        for line in _log_lines(sb, args.name)[-args.lines :] if args.lines > 0 else []:
            print(line)
        if args.follow:
            try:
                for line in _follow(sb, args.name, args.seconds):
                    print(line, flush=True)
            except KeyboardInterrupt:  # interrupting the cell is how a follow ends
                pass

    def _layer(self, args: argparse.Namespace, cell: str | None) -> None:
        sb = self.sandbox
        if args.delete is not None:
            sb.delete_layer_version(args.name, args.delete)
            print(f"Deleted layer {args.name} version {args.delete}")
            return
        if args.source is not None:
            content: object = Path(args.source)
        elif cell is not None and cell.strip():
            path = args.file or f"python/{args.name}.py"
            content = {"ZipFile": build_zip({path: cell.encode("utf-8")})}
        else:
            raise UsageError("layer needs content: %%lambda layer NAME + a cell, or --from PATH")
        version = sb.publish_layer_version(
            args.name,
            content,
            description=args.description or "",
            compatible_runtimes=args.runtime,
        )
        print(f"Published {version.layer_version_arn} ({version.code_size} bytes)")

    def _layers(self, args: argparse.Namespace, cell: str | None) -> Table:
        sb = self.sandbox
        if args.name:
            versions = all_pages(
                lambda m: sb.list_layer_versions(args.name, marker=m), "layer_versions"
            )
        else:
            summaries = all_pages(lambda m: sb.list_layers(marker=m), "layers")
            versions = [s.latest_matching_version for s in summaries]
        return Table(
            ("LayerVersionArn", "Description", "CodeSize", "CompatibleRuntimes", "CreatedDate"),
            [
                (
                    v.layer_version_arn,
                    v.description,
                    v.code_size,
                    ", ".join(v.compatible_runtimes),
                    v.created_date,
                )
                for v in versions
            ],
        )

    def _ls(self, args: argparse.Namespace, cell: str | None) -> Table:
        functions = all_pages(lambda m: self.sandbox.list_functions(marker=m), "functions")
        columns = ("FunctionName", "Runtime", "Handler", "Memory", "Timeout", "LastModified")
        return Table(
            columns,
            [
                (f.function_name, f.runtime, f.handler, f.memory_size, f.timeout, f.last_modified)
                for f in functions
            ],
        )

    def _versions(self, args: argparse.Namespace, cell: str | None) -> Table:
        sb, name = self.sandbox, args.name
        versions = all_pages(lambda m: sb.list_versions_by_function(name, marker=m), "versions")
        aliases = all_pages(lambda m: sb.list_aliases(name, marker=m), "aliases")

        def pointing_at(version: str) -> str:
            names = [a.name for a in aliases if a.function_version == version]
            names += [
                f"{a.name} ({w:g})"
                for a in aliases
                for v, w in a.additional_version_weights.items()
                if v == version
            ]
            return ", ".join(names)

        return Table(
            ("Version", "Aliases", "Description", "CodeSha256", "LastModified"),
            [
                (
                    v.version,
                    pointing_at(v.version),
                    v.description,
                    v.code_sha256[:12],
                    v.last_modified,
                )
                for v in versions
            ],
        )

    def _explain(self, args: argparse.Namespace, cell: str | None) -> object:
        return self.sandbox.explain(args.request_id)

    def _timeline(self, args: argparse.Namespace, cell: str | None) -> object:
        plot = getattr(self.sandbox, "plot_timeline", None)
        if plot is None:
            raise UsageError("timeline arrives with the notebook widgets (sb.plot_timeline)")
        return plot(args.name) if args.name else plot()

    def _dashboard(self, args: argparse.Namespace, cell: str | None) -> object:
        try:
            from sandbox.notebook.widgets import Dashboard
        except ModuleNotFoundError as exc:
            if exc.name != "sandbox.notebook.widgets":
                raise
            raise UsageError("dashboard arrives with the notebook widgets") from exc
        except ImportError as exc:
            raise UsageError("dashboard arrives with the notebook widgets") from exc
        names, queues = list(args.name), list(args.queues)
        if len(names) > 1 or queues:  # an application: several functions, its queues
            return Dashboard(self.sandbox, functions=names, queues=queues, by=args.by, invoke=False)
        return Dashboard(self.sandbox, names[0] if names else None, by=args.by)

    def _reset(self, args: argparse.Namespace, cell: str | None) -> None:
        sb = self.sandbox
        fresh = self._owned and bool(getattr(sb._shared, "ephemeral", False))
        if fresh:  # a throwaway sandbox the magics opened: replace it
            names: list[str] = []
            what = f"close the ephemeral sandbox at {sb.home} and open a fresh one"
        else:  # a store on disk, or a sandbox the notebook holds: empty it
            functions = all_pages(lambda m: sb.list_functions(marker=m), "functions")
            names = [f.function_name for f in functions]
            what = f"delete {len(names)} function(s) from {sb.home}: {', '.join(names)}"
        if not args.yes:
            raise UsageError(f"reset would {what}; run %lambda reset --yes to do it")
        if fresh:
            self.use(Sandbox.ephemeral(), owned=True)  # closes the old one
        for name in names:  # its mappings first: on AWS they outlive it, a reset should not
            for m in sb.list_event_source_mappings(function_name=name).event_source_mappings:
                sb.delete_event_source_mapping(m.uuid)
            sb.delete_function(name)
        print(f"Reset: {what}")

    def _use(self, args: argparse.Namespace, cell: str | None) -> None:
        if args.var:
            value = self.shell.user_ns.get(args.var) if self.shell is not None else None
            if not isinstance(value, Sandbox):
                raise UsageError(f"use {args.var}: {args.var!r} is not a Sandbox")
            self.use(value)
        elif args.ephemeral:
            self.use(Sandbox.ephemeral(), owned=True)
        elif args.home or args.default:
            self.use(Sandbox(args.home), owned=True)
        print(f"Using {self.sandbox!r} (also {SANDBOX_VAR})")

    # completion --------------------------------------------------------------------
    def complete_hook(self, _shell: Any, event: Any) -> list[str]:
        """IPython's ``complete_command`` hook: :func:`complete` of the line, each word cut
        to the part after IPython's own delimiters (``:`` and ``$`` split words there)."""
        line: str = event.text_until_cursor
        try:
            words = complete(self.sandbox, line.lstrip("%"))
        except errors.SandboxError:  # the default store cannot be opened: no completions
            raise TryNext from None
        symbol: str = event.symbol
        current = "" if line[-1:].isspace() else line.split()[-1]
        cut = len(current) - len(symbol)
        return [w[cut:] for w in words if cut >= 0] or []


def _summary(config: Any) -> str:
    return (
        f"{config.function_name} ({config.version}): {config.runtime}, {config.handler}, "
        f"{config.memory_size} MB, {config.timeout} s"
    )


def _log_lines(sb: Sandbox, name: str) -> list[str]:
    return [
        str(r.detail.get("line", "")) for r in sb.telemetry.records(kind="log", function_name=name)
    ]


def _follow(sb: Sandbox, name: str, seconds: float) -> Iterator[str]:
    """New log lines of ``name`` as they arrive, for ``seconds`` (real time) or until the
    cell is interrupted. Lines are printed from this thread (the kernel's), not from the
    invoking thread, so they land in this cell's output."""
    lines: queue.SimpleQueue[str] = queue.SimpleQueue()

    def on_record(record: Any) -> None:
        if str(record.kind) == "log" and record.function_name == name:
            lines.put(str(record.detail.get("line", "")))

    unsubscribe = sb.telemetry.subscribe(on_record)
    deadline = time.monotonic() + seconds
    try:
        while (left := deadline - time.monotonic()) > 0:
            try:
                yield lines.get(timeout=min(left, 0.1))
            except queue.Empty:
                continue
    finally:
        unsubscribe()


# --- the extension ---------------------------------------------------------------------


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext sandbox``: register ``%lambda`` with its completer, ``%%exercise`` (the
    labs' exercises), and formatters that show an :class:`InvokeResult` as status, payload
    and REPORT line."""
    ipython.register_magics(LambdaMagics)
    from sandbox.lab.magic import register as register_exercises

    register_exercises(ipython)  # %%exercise, the labs' self-checking exercises
    magics: LambdaMagics = ipython.magics_manager.registry["LambdaMagics"]
    for key in ("%lambda", "%%lambda"):
        ipython.set_hook("complete_command", magics.complete_hook, str_key=key)
    formatters = ipython.display_formatter.formatters
    formatters["text/plain"].for_type(
        InvokeResult, lambda result, p, cycle: p.text(invoke_text(result))
    )
    formatters["text/html"].for_type(InvokeResult, invoke_html)


def unload_ipython_extension(ipython: Any) -> None:
    """Close the sandbox the magics opened (for ``%unload_ext sandbox``, once
    ``sandbox.unload_ipython_extension`` delegates here)."""
    magics = ipython.magics_manager.registry.get("LambdaMagics")
    if isinstance(magics, LambdaMagics):
        magics.close()
