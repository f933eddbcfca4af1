"""EventBridge event patterns: parse, validate and match them against events.

Why it exists: three features decide "does this event concern me?" with the same language.
EventBridge rules route events by pattern, event source mappings drop records that match no
``FilterCriteria`` pattern (spec §8.5), and SNS subscription filter policies use a close
relative. One matcher keeps the three in agreement.

The semantics follow spec §8.5 and EventBridge's user guide ("Creating event patterns",
"Comparison operators for use in event patterns"):

* a pattern is a JSON object; each key must be present in the event (AND); a nested object
  matches the event's nested object; a leaf is an array of alternatives (OR);
* an alternative is an exact value (string, number, boolean or null, case sensitive, numbers
  compared as written: ``300`` does not match ``3.0e2``) or a one-key operator object:
  ``prefix``, ``suffix``, ``equals-ignore-case``, ``anything-but`` (a value, a list, or a
  ``prefix``/``suffix``/``equals-ignore-case``/``wildcard`` object), ``numeric`` (one or two
  bounds), ``exists``, ``wildcard`` and ``cidr``;
* ``"$or": [{...}, {...}]`` inside any object makes its alternatives ORed;
* an event value that is an array matches when any of its elements matches; an array of
  objects matches a nested pattern when one element matches all of it.

"Numbers as written" needs the written form; events arrive already parsed, so the sandbox
compares kind and value: an integer literal matches integer literals of the same value and a
float literal (``3.0e2``, ``300.0``) matches float literals of the same value. Only the
``numeric`` operator compares numbers by value across both kinds.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "MAX_PATTERN_LENGTH",
    "PatternError",
    "check_pattern",
    "matches",
    "matches_any",
    "parse_pattern",
]

# EventBridge PutRule EventPattern and Lambda FilterCriteria Pattern: at most 4,096 characters
MAX_PATTERN_LENGTH = 4096

# EventBridge user guide, numeric matching: values between -5.0e9 and +5.0e9 inclusive
_NUMERIC_LIMIT = 5.0e9

_OPERATORS = frozenset(
    {
        "anything-but",
        "cidr",
        "equals-ignore-case",
        "exists",
        "numeric",
        "prefix",
        "suffix",
        "wildcard",
    }
)
_LOWER_BOUNDS = frozenset({">", ">="})
_UPPER_BOUNDS = frozenset({"<", "<="})
_ANYTHING_BUT_KEYS = frozenset({"prefix", "suffix", "equals-ignore-case", "wildcard"})
_MISSING = object()


class PatternError(ValueError):
    """A pattern that is not a valid EventBridge pattern; ``reason`` says why.

    Callers wrap it in their service's error: EventBridge's ``InvalidEventPatternException``
    ("Event pattern is not valid. Reason: ..."), Lambda's "Invalid filter pattern
    definition.", SNS's ``InvalidParameter`` for filter policies.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# parsing and validation ----------------------------------------------------------------------
def parse_pattern(text: str, *, max_length: int = MAX_PATTERN_LENGTH) -> dict[str, Any]:
    """Parse and validate a pattern given as JSON text.

    Args:
        text: the pattern, as EventBridge and Lambda take it (a JSON string).
        max_length: the longest pattern accepted, in characters.

    Returns:
        The pattern as a dict (duplicate keys: the last one wins, spec §8.5).

    Raises:
        PatternError: not a string, too long, not JSON, not an object, or a bad matcher.
    """
    if not isinstance(text, str):
        raise PatternError("Pattern must be a JSON string")
    if len(text) > max_length:
        raise PatternError(f"Pattern is longer than {max_length} characters")
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise PatternError(
            f"Pattern is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from exc
    check_pattern(value)
    return dict(value)


def _reject_constant(name: str) -> object:
    raise PatternError(f"Pattern is not valid JSON: {name} is not a JSON number")


def check_pattern(pattern: object) -> None:
    """Validate an already parsed pattern.

    Raises:
        PatternError: the first problem found, with its path in the pattern.
    """
    if not isinstance(pattern, Mapping):
        raise PatternError("Pattern must be a JSON object")
    _check_object(pattern, "")


def _check_object(pattern: Mapping[Any, object], path: str) -> None:
    if not pattern:
        raise PatternError(f"Empty objects are not allowed{_at(path)}")
    for key, value in pattern.items():
        here = f"{path}.{key}" if path else str(key)
        if key == "$or" and _is_or(value):
            assert isinstance(value, list)
            if len(value) < 2:
                raise PatternError(f"$or must have at least two alternatives{_at(here)}")
            for alternative in value:
                _check_object(alternative, here)
        elif isinstance(value, Mapping):
            _check_object(value, here)
        elif isinstance(value, list):
            if not value:
                raise PatternError(f"Empty arrays are not allowed{_at(here)}")
            for matcher in value:
                _check_matcher(matcher, here)
        else:
            raise PatternError(
                f"Match value must be an array or an object, not {_kind(value)}{_at(here)}"
            )


def _is_or(value: object) -> bool:
    """``$or`` is the OR operator when it holds objects; otherwise it is a field name."""
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _check_matcher(matcher: object, path: str) -> None:
    if matcher is None or isinstance(matcher, (str, bool, int, float)):
        return
    if isinstance(matcher, list):
        raise PatternError(f"Arrays are not allowed inside a match array{_at(path)}")
    if not isinstance(matcher, Mapping):  # pragma: no cover - JSON has no other kinds
        raise PatternError(f"Unsupported match value {matcher!r}{_at(path)}")
    if len(matcher) != 1:
        raise PatternError(
            f"A match expression must have exactly one operator, not {len(matcher)}{_at(path)}"
        )
    ((operator, argument),) = matcher.items()
    if operator not in _OPERATORS:
        raise PatternError(f"Unrecognized match type {operator}{_at(path)}")
    if operator == "exists":
        if not isinstance(argument, bool):
            raise PatternError(f"exists match pattern must be either true or false{_at(path)}")
    elif operator == "numeric":
        _numeric_bounds(argument, path)
    elif operator in ("prefix", "suffix"):
        _check_text_or_ignore_case(operator, argument, path)
    elif operator == "equals-ignore-case":
        _check_strings(operator, argument, path, allow_list=False)
    elif operator == "wildcard":
        _check_strings(operator, argument, path, allow_list=False)
        assert isinstance(argument, str)
        _wildcard_regex(argument, path)
    elif operator == "cidr":
        _cidr_network(argument, path)
    else:
        _check_anything_but(argument, path)


def _check_text_or_ignore_case(operator: str, argument: object, path: str) -> None:
    if isinstance(argument, Mapping):
        if set(argument) != {"equals-ignore-case"}:
            raise PatternError(
                f"Unsupported {operator} pattern: only equals-ignore-case may be nested{_at(path)}"
            )
        _check_strings(operator, argument["equals-ignore-case"], path, allow_list=False)
    else:
        _check_strings(operator, argument, path, allow_list=False)


def _check_strings(operator: str, argument: object, path: str, *, allow_list: bool) -> None:
    if isinstance(argument, str):
        return
    if (
        allow_list
        and isinstance(argument, list)
        and argument
        and all(isinstance(item, str) for item in argument)
    ):
        return
    wanted = "a string or a non-empty array of strings" if allow_list else "a string"
    raise PatternError(f"{operator} match pattern must be {wanted}{_at(path)}")


def _check_anything_but(argument: object, path: str) -> None:
    if isinstance(argument, Mapping):
        if len(argument) != 1 or next(iter(argument)) not in _ANYTHING_BUT_KEYS:
            raise PatternError(
                "anything-but can only nest one of prefix, suffix, equals-ignore-case or "
                f"wildcard{_at(path)}"
            )
        ((operator, inner),) = argument.items()
        _check_strings(f"anything-but {operator}", inner, path, allow_list=True)
        if operator == "wildcard":
            for text in [inner] if isinstance(inner, str) else list(inner):
                _wildcard_regex(text, path)
        return
    values = argument if isinstance(argument, list) else [argument]
    if not values:
        raise PatternError(f"Empty arrays are not allowed{_at(path)}")
    for value in values:
        if not _is_number(value) and not isinstance(value, str):
            raise PatternError(
                f"Inside anything-but list, {_kind(value)} is not supported{_at(path)}"
            )


def _numeric_bounds(argument: object, path: str) -> tuple[tuple[str, float], ...]:
    if not isinstance(argument, list) or len(argument) not in (2, 4):
        raise PatternError(
            f"Value of numeric must be an array of one or two operator and number pairs{_at(path)}"
        )
    pairs: list[tuple[str, float]] = []
    for index in range(0, len(argument), 2):
        operator, bound = argument[index], argument[index + 1]
        if operator not in ("=", "<", "<=", ">", ">="):
            raise PatternError(f"Unrecognized numeric range operator: {operator}{_at(path)}")
        if not _is_number(bound):
            raise PatternError(f"Value of {operator} must be numeric{_at(path)}")
        assert isinstance(bound, (int, float))
        if abs(bound) > _NUMERIC_LIMIT:
            raise PatternError(f"Value of {operator} must be between -5.0e9 and 5.0e9{_at(path)}")
        pairs.append((operator, float(bound)))
    if len(pairs) == 2:
        operators = {pairs[0][0], pairs[1][0]}
        lower = operators & _LOWER_BOUNDS
        upper = operators & _UPPER_BOUNDS
        if len(lower) != 1 or len(upper) != 1:
            raise PatternError(
                f"A numeric range needs one lower bound (> or >=) and one upper bound (< or <=)"
                f"{_at(path)}"
            )
        low = next(value for op, value in pairs if op in _LOWER_BOUNDS)
        high = next(value for op, value in pairs if op in _UPPER_BOUNDS)
        if low >= high:
            raise PatternError(f"Bottom must be less than top{_at(path)}")
    return tuple(pairs)


def _cidr_network(argument: object, path: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    if not isinstance(argument, str):
        raise PatternError(f"cidr match pattern must be a string{_at(path)}")
    try:
        return ipaddress.ip_network(argument, strict=False)
    except ValueError as exc:
        raise PatternError(f"Nonstandard IP address: {argument}{_at(path)}") from exc


@functools.lru_cache(maxsize=512)
def _compiled_wildcard(text: str) -> re.Pattern[str]:
    return _wildcard_regex(text, "")


def _wildcard_regex(text: str, path: str) -> re.Pattern[str]:
    """``*`` matches any run of characters; ``\\*`` and ``\\\\`` are a literal star and
    backslash. Two unescaped stars in a row are refused, as EventBridge does."""
    parts: list[str] = []
    index = 0
    previous_star = False
    while index < len(text):
        char = text[index]
        if char == "\\":
            following = text[index + 1 : index + 2]
            if following not in ("*", "\\"):
                raise PatternError(f"Invalid escape character at pos {index}{_at(path)}")
            parts.append(re.escape(following))
            index += 2
            previous_star = False
            continue
        if char == "*":
            if previous_star:
                raise PatternError(f"Consecutive wildcard characters at pos {index}{_at(path)}")
            parts.append(".*")
            previous_star = True
        else:
            parts.append(re.escape(char))
            previous_star = False
        index += 1
    return re.compile("".join(parts), re.DOTALL)


def _at(path: str) -> str:
    return f" (at {path})" if path else ""


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# matching ----------------------------------------------------------------------------------
def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """Whether ``event`` matches ``pattern`` (a pattern :func:`parse_pattern` accepted).

    Example:
        >>> matches({"source": ["shop"], "detail": {"total": [{"numeric": [">", 10]}]}},
        ...         {"source": "shop", "detail": {"total": 25}})
        True
    """
    return _match_object(pattern, event)


def matches_any(patterns: Iterable[Mapping[str, Any]], event: Mapping[str, Any]) -> bool:
    """Whether ``event`` matches at least one pattern: several filters are ORed (spec §8.5)."""
    return any(_match_object(pattern, event) for pattern in patterns)


def _match_object(pattern: Mapping[Any, object], event: object) -> bool:
    fields: Mapping[Any, object] = event if isinstance(event, Mapping) else {}
    for key, sub in pattern.items():
        if key == "$or" and _is_or(sub):
            assert isinstance(sub, list)
            if not any(_match_object(alternative, fields) for alternative in sub):
                return False
            continue
        value = fields.get(key, _MISSING)
        if isinstance(sub, Mapping):
            if not _match_nested(sub, value):
                return False
        elif isinstance(sub, list):
            if not _match_leaf(sub, _leaf_values(value)):
                return False
        else:
            return False
    return True


def _match_nested(pattern: Mapping[Any, object], value: object) -> bool:
    """A nested pattern against an object, or against any object of an array; a missing
    object is an empty one, so ``exists: false`` below it still matches."""
    if isinstance(value, list):
        candidates = [item for item in _flatten(value) if isinstance(item, Mapping)]
        if candidates:
            return any(_match_object(pattern, item) for item in candidates)
        return _match_object(pattern, {})
    return _match_object(pattern, value if isinstance(value, Mapping) else {})


def _flatten(values: Sequence[object]) -> list[object]:
    flat: list[object] = []
    for item in values:
        if isinstance(item, list):
            flat.extend(_flatten(item))
        else:
            flat.append(item)
    return flat


def _leaf_values(value: object) -> list[object]:
    """The leaf values a field holds: none when it is missing or an object (operators only
    work on leaf nodes), each scalar element when it is an array."""
    if value is _MISSING or isinstance(value, Mapping):
        return []
    if isinstance(value, list):
        return [item for item in _flatten(value) if not isinstance(item, Mapping)]
    return [value]


def _match_leaf(matchers: Sequence[object], values: list[object]) -> bool:
    for matcher in matchers:
        if isinstance(matcher, Mapping):
            ((operator, argument),) = matcher.items()
            if operator == "exists":
                if bool(values) == argument:
                    return True
                continue
            if any(_match_operator(operator, argument, value) for value in values):
                return True
        elif any(_same_value(matcher, value) for value in values):
            return True
    return False


def _same_value(expected: object, value: object) -> bool:
    """Exact match: same JSON kind and value; integers and floats are different literals."""
    if expected is None or value is None:
        return expected is None and value is None
    if isinstance(expected, bool) or isinstance(value, bool):
        return isinstance(expected, bool) and isinstance(value, bool) and expected == value
    if isinstance(expected, int) != isinstance(value, int):
        return False
    return type(expected) is type(value) and expected == value


def _match_operator(operator: str, argument: object, value: object) -> bool:
    if operator == "numeric":
        if not _is_number(value):
            return False
        assert isinstance(value, (int, float))
        return all(_compare(op, float(value), bound) for op, bound in _numeric_bounds(argument, ""))
    if operator == "anything-but":
        return _anything_but(argument, value)
    if not isinstance(value, str):
        return False
    if operator == "cidr":
        return _in_network(value, _cidr_network(argument, ""))
    return _text_match(operator, argument, value)


def _text_match(operator: str, argument: object, value: str) -> bool:
    ignore_case = isinstance(argument, Mapping)
    text = argument["equals-ignore-case"] if isinstance(argument, Mapping) else argument
    assert isinstance(text, str)
    if operator == "wildcard":
        return _compiled_wildcard(text).fullmatch(value) is not None
    if operator == "equals-ignore-case":
        return value.casefold() == text.casefold()
    if ignore_case:
        value, text = value.casefold(), text.casefold()
    if operator == "prefix":
        return value.startswith(text)
    return value.endswith(text)  # suffix


def _anything_but(argument: object, value: object) -> bool:
    if isinstance(argument, Mapping):
        ((operator, inner),) = argument.items()
        if not isinstance(value, str):
            return False
        texts = [inner] if isinstance(inner, str) else list(inner)
        return not any(_text_match(operator, text, value) for text in texts)
    excluded = argument if isinstance(argument, list) else [argument]
    return not any(_same_value(item, value) for item in excluded)


def _compare(operator: str, value: float, bound: float) -> bool:
    if operator == "=":
        return value == bound
    if operator == "<":
        return value < bound
    if operator == "<=":
        return value <= bound
    if operator == ">":
        return value > bound
    return value >= bound


def _in_network(value: str, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    return address.version == network.version and address in network
