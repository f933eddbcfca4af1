"""The asynchronous and trigger subcommands of ``%lambda``: ``async`` (the queue's
events), ``destinations`` (a qualifier's event invoke config), ``mappings`` (event source
mappings) and ``queue`` (a local SQS queue: create, send, peek). A mixin of
:class:`~sandbox.notebook.magics.LambdaMagics`, kept apart to keep that module small."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from sandbox import errors

if TYPE_CHECKING:
    from sandbox._sandbox import Sandbox
    from sandbox.core.asyncinvoke import EventInvokeConfig

__all__ = ["AsyncMagics"]


class AsyncMagics:
    if TYPE_CHECKING:

        @property
        def sandbox(self) -> Sandbox: ...

    def _async(self, args: argparse.Namespace, cell: str | None) -> object:
        from sandbox.notebook.magics import Table

        events = self.sandbox.async_events(args.name)
        rows = []
        for e in events[-args.last :] if args.last else events:
            deliveries = e["deliveries"] if isinstance(e["deliveries"], list) else []
            sent = ", ".join(f"{d['target']}{'' if d['ok'] else ' (failed)'}" for d in deliveries)
            rows.append(
                (
                    str(e["request_id"])[:8],
                    str(e["function_arn"]).split(":function:", 1)[-1],
                    e["state"],
                    e["attempts"],
                    e["outcome"] or "",
                    sent or (e["reason"] or ""),
                    e["origin"],
                )
            )
        columns = ("RequestId", "Function", "State", "Attempts", "Outcome", "Sent to", "Origin")
        return Table(columns, rows)

    def _destinations(self, args: argparse.Namespace, cell: str | None) -> None:
        sb = self.sandbox
        name, _, qualifier = args.target.partition(":")
        q = qualifier or None
        if args.delete:
            sb.delete_function_event_invoke_config(name, q)
            print(f"{args.target}: asynchronous settings deleted (defaults apply)")
            return
        destinations: dict[str, object] = {}
        if args.on_success is not None:
            destinations["OnSuccess"] = {"Destination": args.on_success} if args.on_success else {}
        if args.on_failure is not None:
            destinations["OnFailure"] = {"Destination": args.on_failure} if args.on_failure else {}
        changes: dict[str, Any] = {
            "maximum_retry_attempts": args.retries,
            "maximum_event_age_in_seconds": args.max_age,
            "destination_config": destinations or None,
        }
        config: EventInvokeConfig
        if any(v is not None for v in changes.values()):
            try:
                config = sb.update_function_event_invoke_config(name, q, **changes)
            except errors.ResourceNotFoundException:
                config = sb.put_function_event_invoke_config(name, q, **changes)
        else:
            config = sb.get_function_event_invoke_config(name, q)
        print(
            f"{config.function_arn.split(':function:', 1)[-1]}: retries {config.retries}, "
            f"maximum age {config.maximum_age} s, on success -> {config.on_success or '-'}, "
            f"on failure -> {config.on_failure or '-'}"
        )

    def _mappings(self, args: argparse.Namespace, cell: str | None) -> object:
        from sandbox.notebook.magics import Table

        sb = self.sandbox
        if args.delete:
            sb.delete_event_source_mapping(args.delete)
            print(f"{args.delete}: deleting")
            return None
        if args.source:
            if not args.name:
                raise errors.InvalidParameterValueException("--source needs NAME")
            options: dict[str, Any] = {"batch_size": args.batch_size}
            if args.window is not None:
                options["maximum_batching_window_in_seconds"] = args.window
            if args.starting_position:
                options["starting_position"] = args.starting_position
            mapping = sb.create_event_source_mapping(
                args.name, args.source, **{k: v for k, v in options.items() if v is not None}
            )
            print(f"{mapping.uuid}: {args.source} -> {mapping.function_arn} ({mapping.state})")
            return None
        found = sb.list_event_source_mappings(function_name=args.name)
        rows = [
            (
                m.uuid[:8],
                m.event_source_arn.split(":", 5)[-1],
                m.function_arn.split(":function:", 1)[-1],
                str(m.state),
                m.batch_size,
                m.maximum_batching_window_in_seconds,
                m.last_processing_result if m.kind.is_stream else "",
            )
            for m in found.event_source_mappings
        ]
        columns = ("UUID", "Source", "Function", "State", "Batch", "Window", "Last result")
        return Table(columns, rows)

    def _queue(self, args: argparse.Namespace, cell: str | None) -> object:
        from sandbox.notebook.magics import Table

        sqs = self.sandbox.sqs
        if args.create:
            url = sqs.create_queue(args.name)["QueueUrl"]
            print(f"{args.name}: {url}")
        else:
            url = sqs.get_queue_url(args.name)["QueueUrl"]
        bodies = list(args.send or [])
        if cell is not None:
            bodies += [line for line in cell.splitlines() if line.strip()]
        for body in bodies:
            sqs.send_message(url, body)
        if bodies:
            print(f"{args.name}: sent {len(bodies)} message(s)")
        if args.receive:
            got = sqs.receive_message(
                url, max_number_of_messages=min(args.receive, 10), attribute_names=["All"]
            ).get("Messages", [])
            return Table(
                ("MessageId", "Body", "Receives"),
                [
                    (m["MessageId"][:8], m["Body"], m["Attributes"]["ApproximateReceiveCount"])
                    for m in got
                ],
            )
        attrs = sqs.get_queue_attributes(url, attribute_names=["All"])["Attributes"]
        print(
            f"{args.name}: {attrs['ApproximateNumberOfMessages']} visible, "
            f"{attrs['ApproximateNumberOfMessagesNotVisible']} in flight, "
            f"{attrs['ApproximateNumberOfMessagesDelayed']} delayed"
        )
        return None
