"""``lambda-sandbox demo``: the seven concepts in one application, what each step teaches,
its two pictures, and a second run on the same store."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image

from sandbox.cli import main

pytestmark = [pytest.mark.process, pytest.mark.timeout(120)]

CONCEPTS = ["Event", "Layer", "Extension", "Qualifier", "Concurrency", "Destination", "Trigger"]


def _titles(out: str) -> list[str]:
    return re.findall(r"^(\d)\. (\w+): ", out, re.MULTILINE)


def _batches(out: str) -> list[int]:
    found = re.search(r"(\d+) batches of \[([\d, ]+)\] messages; 0 messages left", out)
    assert found, out
    sizes = [int(n) for n in found.group(2).split(",")]
    assert len(sizes) == int(found.group(1))
    return sizes


def _check_lessons(out: str) -> None:
    flat = " ".join(out.split())  # long sentences are wrapped at 100 columns
    assert _titles(out) == [(str(n), c) for n, c in enumerate(CONCEPTS, 1)]
    # Event: a generated SQS event is valid, a hand-written one is not
    assert "events.validate('sqs', event): no problems" in flat
    assert "Records[0].messageId: missing and 7 more" in flat
    assert "order-intake read the batch: {'orders': 3, 'items': 6}" in flat
    # Layer: the shared module is imported from /opt
    assert "imports orderlib from /opt/python/orderlib.py: {'orders': 3, 'total': 27.0}" in flat
    # Extension: registered before the first START, audited after the END, and its work
    # after the response kept the environment busy (AUDIT_SECONDS is 0.2)
    log = re.findall(r"^   \| (\[order-audit\] \w+|START|END)", out, re.MULTILINE)
    assert log == ["[order-audit] registered", "START", "END", "[order-audit] audited"]
    busy = re.search(r"stayed busy (\d+) ms more while order-audit wrote", flat)
    assert busy and int(busy.group(1)) >= 150
    # Qualifier: the canary histogram counts executed versions; the alias moves
    ran = dict(re.findall(r"^   version (\d) \| #* +(\d+)$", out, re.MULTILINE))
    assert set(ran) == {"1", "2"} and sum(map(int, ran.values())) == 200
    assert 0 < int(ran["2"]) < int(ran["1"])
    assert "the next 20 ran version 2: 20" in flat
    assert (
        "delete_function(Qualifier=2): ResourceConflictException: Unable to delete version "
        "because the following aliases reference it: [live]" in flat
    )
    # Concurrency: cold then warm in the same environment, a burst, throttles with the
    # reason, provisioned environments without a cold start, and the spillover
    cold = re.search(r"request 1: Cold start in environment (\w+): ", flat)
    warm = re.search(r"request 2: Warm start: idle environment (\w+) was reused", flat)
    assert cold and warm and cold.group(1) == warm.group(1)
    assert "a burst of 6 at once needs 6 environments (5 cold, 1 warm)" in flat
    assert "a burst of 6: 3 ran, 3 throttled (429)" in flat
    assert (
        "why? Throttled with TooManyRequestsException "
        "(ReservedFunctionConcurrentInvocationLimitExceeded): the function's reserved "
        "concurrency (3) was fully in use" in flat
    )
    assert "Provisioned Concurrency Configs cannot be applied to unpublished function" in flat
    assert "put_provisioned_concurrency_config(live, 2): READY with 2 environments" in flat
    assert "a burst of 4 on live: 2 provisioned, 2 spilled over" in flat
    assert "initialised ahead of time: no cold start." in flat
    assert "(its REPORT line has no Init Duration)" in flat
    assert "every provisioned environment was busy: the request spilled over" in flat
    # Destination: one record per event, in the queue of its outcome
    records = re.findall(r"^   (order-\w+) +(\w+) +1 +(.+)$", out, re.MULTILINE)
    assert records == [
        ("order-confirmed", "Success", "ada@example.com"),
        ("order-confirmed", "Success", "alan@example.com"),
        ("order-problems", "RetriesExhausted", "ValueError: order 3 has no email address"),
    ]
    # Trigger: 25 messages in batches of at most 10, each audited by the extension
    sizes = _batches(flat)
    assert sum(sizes) == 25 and max(sizes) == 10
    assert f"audited {len(sizes)} of the {len(sizes)} batch invocations" in flat


def _check_pictures(folder: Path) -> None:
    for name in ("demo-timeline.png", "demo-concurrency.png"):
        path = folder / name
        assert path.stat().st_size > 20_000, name  # a drawing, not an empty canvas
        with Image.open(path) as image:
            assert image.format == "PNG" and image.width >= 900 and image.height >= 400


def test_demo_teaches_the_seven_concepts_and_runs_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["--home", str(tmp_path), "demo"]) == 0
    first = capsys.readouterr().out
    _check_lessons(first)
    assert "layer:order-lib:1 " in first
    _check_pictures(tmp_path)
    (tmp_path / "demo-timeline.png").unlink()
    monkeypatch.chdir(tmp_path.parent)  # the same store again, named relative to the cwd
    assert main(["--home", tmp_path.name, "demo"]) == 0
    again = capsys.readouterr().out
    _check_lessons(again)  # the same lessons: the queues were emptied, functions re-made
    assert "layer:order-lib:2 " in again  # layer versions are never reused
    _check_pictures(tmp_path)
