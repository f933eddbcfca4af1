"""``docs/fidelity.md`` covers every concept of the course, and its figures are the code's.

Why it exists: the fidelity page is what a student trusts when the sandbox and AWS seem to
disagree, so it must have a section for each concept and for the platform (paths, clock,
isolation), and a number it quotes must be the number the code uses. A figure copied into
prose drifts silently when the code changes; each test here reads the figure *from the
page* (by the sentence or table row that states it) and compares it with the constant it
describes, so changing either side alone fails.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from sandbox import FakeClock, LambdaError, Sandbox
from sandbox.core import asyncinvoke, concurrency, invocation, lifecycle, mappings
from sandbox.core.validation import _ENV_LIMIT
from sandbox.runtime import isolation, process, telemetry_delivery
from sandbox.service import environments, extensions, layers, permissions, tags, triggers
from sandbox.service.asyncqueue import AsyncQueue
from sandbox.service.code import DEFAULT_RUNTIME
from sandbox.service.pollers import sqs, streams
from sandbox.service.telemetry import TelemetryBus
from sandbox.store import packaging, unzip

ROOT = Path(__file__).resolve().parent.parent
PAGE_PATH = ROOT / "docs" / "fidelity.md"
PAGE = PAGE_PATH.read_text(encoding="utf-8")

# The course order (README, notebooks 01-08): a concept's section comes in this order.
CONCEPTS = (
    "Function and lifecycle",
    "Event",
    "Layer",
    "Extension",
    "Concurrency",
    "Qualifier",
    "Destination",
    "Trigger",
    "Endpoint and command line",
    "Platform",
)
PLATFORM = ("Paths", "Clock", "Isolation", "Logs", "Limits")
TABLE_HEADER = "| Topic | AWS | Sandbox | Kind, and why |"


# helpers -------------------------------------------------------------------------------
def _sections(level: int) -> dict[str, str]:
    """Heading text -> the section's text, up to the next heading of the same or a higher
    level, for the headings of ``level`` (2 for ``##``)."""
    heading = re.compile(rf"^#{{1,{level}}} ", re.MULTILINE)
    out: dict[str, str] = {}
    for match in re.finditer(rf"^{'#' * level} (.+)$", PAGE, re.MULTILINE):
        following = heading.search(PAGE, match.end())
        out[match.group(1).strip()] = PAGE[match.end() : following.start() if following else None]
    return out


def _concept(name: str) -> str:
    """The text of the ``## N. <name>`` section."""
    for heading, body in _sections(2).items():
        if re.fullmatch(rf"\d+\. {re.escape(name)}", heading):
            return body
    raise AssertionError(f"fidelity.md has no '## N. {name}' section")


def _platform(name: str) -> str:
    platform = _concept("Platform")
    match = re.search(rf"^### {name}\n(.*?)(?=^### |\Z)", platform, re.MULTILINE | re.DOTALL)
    assert match, f"the Platform section has no '### {name}' subsection"
    return match.group(1)


def _one(pattern: str, text: str = PAGE) -> tuple[str, ...]:
    """The groups of the one match of ``pattern`` (the page states each figure once)."""
    found = re.findall(pattern, text)
    assert len(found) == 1, f"{pattern!r} matches {len(found)} times, not once"
    groups = found[0]
    return groups if isinstance(groups, tuple) else (groups,)


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def _row(section: str, label: str) -> list[str]:
    """The cells of the table row whose first cell is ``label``."""
    rows = [
        line
        for line in section.splitlines()
        if line.startswith("| ") and line.split("|")[1].strip() == label
    ]
    assert len(rows) == 1, f"{len(rows)} rows labelled {label!r}"
    return [cell.strip() for cell in rows[0].strip().strip("|").split("|")]


def _first_number(cell: str) -> float:
    match = re.search(r"\d[\d,]*(\.\d+)?", cell)
    assert match, f"no number in {cell!r}"
    return _number(match.group(0))


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to '-'."""
    text = re.sub(r"[`*]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


# sections ------------------------------------------------------------------------------
def test_one_section_per_concept_in_course_order() -> None:
    numbered = [m.group(2) for m in re.finditer(r"^## (\d+)\. (.+)$", PAGE, re.MULTILINE)]
    assert numbered == list(CONCEPTS)
    numbers = [int(n) for n in re.findall(r"^## (\d+)\. ", PAGE, re.MULTILINE)]
    assert numbers == list(range(1, len(CONCEPTS) + 1))


@pytest.mark.parametrize("concept", CONCEPTS[:-1])
def test_each_concept_says_aws_sandbox_and_why(concept: str) -> None:
    body = _concept(concept)
    assert TABLE_HEADER in body, f"'{concept}' has no AWS | Sandbox | why table"
    rows = [line for line in body.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) >= 3  # the header and at least two behaviours


def test_platform_has_paths_clock_isolation_logs_and_limits() -> None:
    platform = _concept("Platform")
    headings = re.findall(r"^### (.+)$", platform, re.MULTILINE)
    # in this order; other subsections (host limits for classrooms, say) may sit between
    assert [h for h in headings if h in PLATFORM] == list(PLATFORM)
    for name in PLATFORM:
        assert "| AWS |" in _platform(name), f"'{name}' has no table comparing with AWS"


def test_paths_cover_both_views_and_every_lambda_path() -> None:
    paths = _platform("Paths")
    assert "| Path | AWS | Namespaces view | Paths view | Kind, and why |" in paths
    for path in ("/var/task", "/opt", "/tmp", "/var/runtime"):
        assert f"| `{path}`" in paths, path


def test_every_link_into_the_page_lands_on_a_heading_or_an_anchor() -> None:
    targets = {_slug(h) for h in re.findall(r"^#{2,3} (.+)$", PAGE, re.MULTILINE)}
    targets |= set(re.findall(r'<a id="([^"]+)"></a>', PAGE))
    links = set(re.findall(r"\]\(#([^)]+)\)", PAGE))
    for doc in (ROOT / "docs").glob("*.md"):
        links |= set(re.findall(r"fidelity\.md#([\w-]+)", doc.read_text(encoding="utf-8")))
    assert links, "no links found: the pattern is wrong"
    assert sorted(links - targets) == []


# figures: lifecycle --------------------------------------------------------------------
def test_keep_alive() -> None:
    (seconds,) = _one(r"\| Keep-alive \|[^|]*\| ([\d,]+) seconds idle, on the sandbox clock")
    assert _number(seconds) == lifecycle.DEFAULT_KEEP_ALIVE
    assert inspect.signature(Sandbox).parameters["keep_alive"].default == (
        lifecycle.DEFAULT_KEEP_ALIVE
    )
    (scale, real) = _one(r"With `time_scale=(\d+)` that is (\d+) real seconds")
    assert lifecycle.DEFAULT_KEEP_ALIVE / int(scale) == int(real)
    (clock_figure, clock_real) = _one(r"and the ([\d,]+)-second keep-alive (\d+)\.")
    assert _number(clock_figure) == lifecycle.DEFAULT_KEEP_ALIVE
    assert lifecycle.DEFAULT_KEEP_ALIVE / int(scale) == int(clock_real)


def test_init_limits() -> None:
    cells = _row(_platform("Limits"), "INIT")
    on_demand, provisioned = re.findall(r"(\d+) s", cells[1])[:2]
    assert float(on_demand) == environments.INIT_LIMIT_S
    source = inspect.getsource(environments.ExecutionEnvironment.init_limit_s.fget)  # type: ignore[attr-defined]
    assert re.findall(r"max\(([\d.]+),", source) == [f"{float(provisioned)}"]
    assert cells[2].startswith("The same")
    assert "(`INIT_LIMIT_S`" in PAGE


def test_default_runtime_timeout_and_memory() -> None:
    (runtime,) = _one(r"`runtime` to `(python[\d.]+)`")
    assert runtime == DEFAULT_RUNTIME
    (timeout, memory) = _one(r"`timeout` defaults to (\d+) s and `memory_size` to (\d+) MB")
    params = inspect.signature(Sandbox.create_function).parameters
    assert (params["timeout"].default, params["memory_size"].default) == (
        int(timeout),
        int(memory),
    )


def test_memory_is_read_every_so_often() -> None:
    (ms,) = _one(r"resident memory is read every (\d+) ms")
    steps = set(re.findall(r"_next_memory_check = now \+ ([\d.]+)", inspect.getsource(process)))
    assert steps == {f"{int(ms) / 1000}"}


def test_lambda_uid() -> None:
    (uid,) = _one(r"uid (\d+) with namespaces")
    assert int(uid) == isolation.LAMBDA_UID
    assert f"`sbx_user1051`, uid {isolation.LAMBDA_UID}" in PAGE


def test_fake_clock_start() -> None:
    (start,) = _one(r"platform time starts at (\S+Z) and moves only")
    assert FakeClock().time() == _iso_epoch(start)


def _iso_epoch(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_telemetry_ring() -> None:
    figures = re.findall(r"most recent ([\d,]+) records", PAGE)
    assert len(figures) == 2  # metrics (Concurrency) and logs (Platform)
    capacity = inspect.signature(TelemetryBus).parameters["capacity"].default
    assert {_number(f) for f in figures} == {capacity}


# figures: concurrency ------------------------------------------------------------------
def test_account_quota_scaling_and_request_rate() -> None:
    (quota,) = _one(r"`LAMBDA_SANDBOX_CONCURRENCY_LIMIT`, ([\d,]+) by default")
    defaults = concurrency.AccountLimits()
    with Sandbox.ephemeral() as sb:
        settings = sb.get_account_settings()
    assert _number(quota) == settings.concurrent_executions == defaults.concurrent_executions

    rate, period = _one(r"`Sandbox\(scaling_rate=(\d+), scaling_period=(\d+)\)` by default")
    assert (int(rate), float(period)) == (defaults.scaling_rate, defaults.scaling_period)
    params = inspect.signature(Sandbox).parameters
    assert (params["scaling_rate"].default, params["scaling_period"].default) == (
        defaults.scaling_rate,
        defaults.scaling_period,
    )

    (factor,) = _one(r"`Sandbox\(request_rate_factor=(\d+)\)` is the (?:\d+)")
    assert int(factor) == defaults.request_rate_factor == params["request_rate_factor"].default


def test_unreserved_minimum() -> None:
    minimum, quota, percent, floor = _one(
        r"\| ([\d,]+) for a quota of ([\d,]+) or more; (\d+) % of a smaller quota "
        r"\(at least (\d+)\)"
    )
    assert _number(minimum) == concurrency.AWS_UNRESERVED_MINIMUM
    big = int(_number(quota))
    assert concurrency.unreserved_minimum(big) == concurrency.AWS_UNRESERVED_MINIMUM
    assert concurrency.unreserved_minimum(big * 5) == concurrency.AWS_UNRESERVED_MINIMUM
    for small in (big - 1, 500, 20, 10):
        assert concurrency.unreserved_minimum(small) == small * int(percent) // 100
    assert concurrency.unreserved_minimum(1) == concurrency.unreserved_minimum(5) == int(floor)
    # the rule as a student meets it: a classroom quota of 10 lets a function reserve 9
    with Sandbox.ephemeral(concurrency_limit=10) as sb:
        sb.create_function("f", "def lambda_handler(event, context):\n    return 1\n")
        sb.put_function_concurrency("f", 9)
        with pytest.raises(sb.exceptions.InvalidParameterValueException):
            sb.put_function_concurrency("f", 10)


# figures: layers and extensions --------------------------------------------------------
def test_layer_limit() -> None:
    (count, message_count) = _one(
        r"at most (\d+) layer \*version\* ARNs \(`Cannot reference more than (\d+)"
    )
    assert int(count) == int(message_count) == layers._MAX_LAYERS
    cells = _row(_platform("Limits"), "Layers per function")
    assert _first_number(cells[1]) == _first_number(cells[2]) == layers._MAX_LAYERS


def test_shutdown_budgets_and_order() -> None:
    cells = _row(_concept("Extension"), "SHUTDOWN budget")
    budget, internal, none = (_number(n) for n in re.findall(r"([\d,]+) ms", cells[1]))
    assert (budget, internal, none) == (
        extensions.SHUTDOWN_BUDGET_MS,
        extensions.INTERNAL_SHUTDOWN_BUDGET_MS,
        0,
    )
    (first, percent) = _one(r"Extensions get `SHUTDOWN` first \(up to ([\d,]+) ms, (\d+) % of")
    share = 1 - extensions.RUNTIME_SHARE
    assert _number(first) == extensions.SHUTDOWN_BUDGET_MS * share
    assert int(percent) == round(100 * share)


def test_extension_limit() -> None:
    cells = _row(_platform("Limits"), "Extensions")
    assert _first_number(cells[1]) == _first_number(cells[2]) == extensions.MAX_EXTENSIONS


def test_telemetry_buffering() -> None:
    cells = _row(_concept("Extension"), "Telemetry buffering")
    ranges = re.findall(r"`(\w+)` ([\d,]+)–([\d,]+)", cells[1])
    assert {name: (_number(low), _number(high)) for name, low, high in ranges} == {
        name: (low, high) for name, (low, high, _d) in telemetry_delivery.BUFFERING.items()
    }
    (seconds,) = re.findall(r"within (\d+) s", cells[2])
    assert float(seconds) == telemetry_delivery.DELIVERY_TIMEOUT
    factors = set(re.findall(r"(\d+) × `max", cells[2]))
    assert factors == {str(telemetry_delivery.CAP_FACTOR)}


# figures: destinations -----------------------------------------------------------------
def test_retry_delays_and_throttle_backoff() -> None:
    first, second = _one(r"Exactly (\d+) s and (\d+) s \(`RETRY_DELAYS`\)")
    assert (float(first), float(second)) == asyncinvoke.RETRY_DELAYS
    assert (asyncinvoke.retry_delay(1), asyncinvoke.retry_delay(2)) == asyncinvoke.RETRY_DELAYS

    stated = [int(n) for n in _one(r"(\d+), (\d+), (\d+) … (\d+), (\d+) s \(`failure_backoff`\)")]
    schedule: list[float] = []
    n = 1
    while not schedule or schedule[-1] != asyncinvoke.failure_backoff(n):
        schedule.append(asyncinvoke.failure_backoff(n))
        n += 1
    assert stated[:3] == schedule[:3] and stated[3:] == schedule[-2:]


def test_async_settings() -> None:
    cells = _row(_concept("Destination"), "Retries and age")
    assert cells[2] == "The same ranges and defaults."
    numbers = [_number(n) for n in re.findall(r"\d[\d,]*", cells[1])]
    assert numbers == [
        0,
        asyncinvoke.DEFAULT_MAXIMUM_RETRY_ATTEMPTS,
        asyncinvoke.DEFAULT_MAXIMUM_RETRY_ATTEMPTS,
        asyncinvoke.MINIMUM_EVENT_AGE,
        asyncinvoke.DEFAULT_MAXIMUM_EVENT_AGE,
        asyncinvoke.DEFAULT_MAXIMUM_EVENT_AGE,
    ]
    # the 0-2 range and the maximum age are the code's bounds, not only its defaults
    top, oldest = asyncinvoke.DEFAULT_MAXIMUM_RETRY_ATTEMPTS, asyncinvoke.DEFAULT_MAXIMUM_EVENT_AGE
    assert asyncinvoke.settings(top, oldest)[:2] == (top, oldest)
    assert asyncinvoke.settings(0, asyncinvoke.MINIMUM_EVENT_AGE)[:2] == (0, 60)
    for retries, age in ((top + 1, None), (-1, None), (None, oldest + 1), (None, 59)):
        with pytest.raises(LambdaError):
            asyncinvoke.settings(retries, age)


def test_async_workers_and_sns_limit() -> None:
    (workers,) = _one(r"(\d+) worker threads per sandbox")
    assert int(workers) == inspect.signature(AsyncQueue).parameters["workers"].default
    (limit,) = _one(r"at ([\d,]+) bytes \(`SNS_MESSAGE_LIMIT`\)")
    assert _number(limit) == asyncinvoke.SNS_MESSAGE_LIMIT


# figures: triggers ---------------------------------------------------------------------
def test_sqs_pollers() -> None:
    first, step, most = _one(
        r"(\d+) pollers to start, one more every ([\d.]+) platform seconds while all find "
        r"full batches, up to `MaximumConcurrency` or ([\d,]+)"
    )
    assert int(first) == sqs.FIRST_POLLERS
    assert float(step) == pytest.approx(sqs.SCALE_STEP)
    assert _number(most) == sqs.MAX_POLLERS
    assert "Short polls once a platform second" in PAGE and sqs.POLL_PAUSE == 1.0


def test_stream_retries() -> None:
    first, a, b, last = _one(r"retried after (\d+) s, then (\d+), (\d+) … (\d+) s \(platform\)")
    assert float(first) == streams.RETRY_FIRST and float(last) == streams.RETRY_LAST
    assert (int(a), int(b)) == (int(streams.RETRY_FIRST * 2), int(streams.RETRY_FIRST * 4))


def test_filters_and_schedules() -> None:
    (filters,) = _one(r"\| (\d+) \(`MAX_FILTERS`\)")
    assert int(filters) == mappings.MAX_FILTERS
    assert "A schedule more than an hour behind skips ahead" in PAGE
    assert triggers._CATCH_UP == 3600.0


# figures: limits -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("label", "value"),
    [
        ("Environment variables", _ENV_LIMIT),
        ("Zipped package", packaging.MAX_ZIPPED_SIZE),
        ("Unzipped package with layers", unzip.MAX_UNZIPPED_SIZE),
        ("Synchronous request payload", invocation.SYNC_PAYLOAD_LIMIT),
        ("Synchronous response payload", invocation.RESPONSE_LIMIT),
        ("Asynchronous request payload", invocation.ASYNC_PAYLOAD_LIMIT),
        ("`ClientContext`", invocation.CLIENT_CONTEXT_LIMIT),
        ("Function resource policy", permissions._POLICY_LIMIT),
        ("Tags", tags.MAX_TAGS),
    ],
)
def test_limit_rows_quote_the_code(label: str, value: int) -> None:
    cells = _row(_platform("Limits"), label)
    assert _first_number(cells[2]) == value, f"{label}: the page says {cells[2]!r}"


def test_request_size_in_the_package_error() -> None:
    cells = _row(_platform("Limits"), "Zipped package")
    assert f"{packaging.REQUEST_SIZE_LIMIT:,} bytes" in cells[2]
    assert f"smaller than {packaging.REQUEST_SIZE_LIMIT} bytes" in PAGE
    cells = _row(_concept("Function and lifecycle"), "Tags")
    assert f"at most {tags.MAX_TAGS} tags" in cells[1]


def test_unzipped_limit_in_the_layer_section() -> None:
    (figure,) = _one(r"layers unzipped must stay under ([\d,]+) bytes")
    assert _number(figure) == unzip.MAX_UNZIPPED_SIZE
