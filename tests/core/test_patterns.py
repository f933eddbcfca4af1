"""Event patterns: spec §8.5 and EventBridge's documented operators, as tables."""

from __future__ import annotations

import json

import pytest

from sandbox.core.patterns import (
    MAX_PATTERN_LENGTH,
    PatternError,
    check_pattern,
    matches,
    matches_any,
    parse_pattern,
)

EC2_EVENT = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "111122223333",
    "time": "2017-12-22T18:43:48Z",
    "region": "us-west-1",
    "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
    "detail": {"instance-id": "i-1234567890abcdef0", "state": "terminated"},
}

# (pattern text, event, expected)
CASES: list[tuple[str, dict[str, object], bool]] = [
    # spec §8.5: equals / or, case-sensitive
    ('{"k": ["a", "b"]}', {"k": "a"}, True),
    ('{"k": ["a", "b"]}', {"k": "b"}, True),
    ('{"k": ["a", "b"]}', {"k": "c"}, False),
    ('{"k": ["a"]}', {"k": "A"}, False),
    ('{"k": ["a"]}', {}, False),
    # AND over keys, nesting
    ('{"source": ["aws.ec2"], "detail": {"state": ["terminated"]}}', EC2_EVENT, True),
    ('{"source": ["aws.ec2"], "detail": {"state": ["running"]}}', EC2_EVENT, False),
    ('{"source": ["aws.s3"], "detail": {"state": ["terminated"]}}', EC2_EVENT, False),
    ('{"detail": {"state": ["terminated"]}}', {"detail": "terminated"}, False),
    # null and empty string are different (spec §8.5, EventBridge null-values page)
    ('{"k": [null]}', {"k": None}, True),
    ('{"k": [null]}', {"k": ""}, False),
    ('{"k": [null]}', {}, False),
    ('{"k": [""]}', {"k": ""}, True),
    ('{"k": [""]}', {"k": None}, False),
    # numbers compared as written; booleans are not numbers
    ('{"n": [300]}', {"n": 300}, True),
    ('{"n": [300]}', {"n": 300.0}, False),
    ('{"n": [3.0e2]}', {"n": 300}, False),
    ('{"n": [3.0e2]}', {"n": 300.0}, True),
    ('{"n": [300]}', {"n": "300"}, False),
    ('{"n": [1]}', {"n": True}, False),
    ('{"b": [true]}', {"b": True}, True),
    ('{"b": [true]}', {"b": 1}, False),
    ('{"b": [false]}', {"b": False}, True),
    # event arrays: any element
    ('{"resources": ["r2"]}', {"resources": ["r1", "r2"]}, True),
    ('{"resources": ["r3"]}', {"resources": ["r1", "r2"]}, False),
    ('{"resources": ["r3"]}', {"resources": []}, False),
    ('{"a": {"b": ["x"]}}', {"a": [{"b": "y"}, {"b": "x"}]}, True),
    ('{"a": {"b": ["x"], "c": ["1"]}}', {"a": [{"b": "x", "c": "2"}, {"b": "y", "c": "1"}]}, False),
    # prefix / suffix / equals-ignore-case
    ('{"r": [{"prefix": "us-"}]}', {"r": "us-east-1"}, True),
    ('{"r": [{"prefix": "us-"}]}', {"r": "eu-west-1"}, False),
    ('{"r": [{"prefix": "us-"}]}', {"r": 5}, False),
    ('{"r": [{"prefix": {"equals-ignore-case": "US-"}}]}', {"r": "us-east-1"}, True),
    ('{"f": [{"suffix": ".png"}]}', {"f": "cat.png"}, True),
    ('{"f": [{"suffix": ".png"}]}', {"f": "cat.PNG"}, False),
    ('{"f": [{"suffix": {"equals-ignore-case": ".png"}}]}', {"f": "cat.PNG"}, True),
    ('{"s": [{"equals-ignore-case": "ALICE"}]}', {"s": "alice"}, True),
    ('{"s": [{"equals-ignore-case": "ALICE"}]}', {"s": "alicia"}, False),
    # anything-but: value, list, nested
    ('{"state": [{"anything-but": "initializing"}]}', {"state": "running"}, True),
    ('{"state": [{"anything-but": "initializing"}]}', {"state": "initializing"}, False),
    ('{"state": [{"anything-but": "initializing"}]}', {}, False),
    ('{"k": [{"anything-but": ["x", "y"]}]}', {"k": "z"}, True),
    ('{"k": [{"anything-but": ["x", "y"]}]}', {"k": "y"}, False),
    ('{"k": [{"anything-but": [100, 200]}]}', {"k": 100}, False),
    ('{"k": [{"anything-but": [100, 200]}]}', {"k": 150}, True),
    ('{"k": [{"anything-but": ["x"]}]}', {"k": ["x", "w"]}, True),
    ('{"k": [{"anything-but": ["x"]}]}', {"k": ["x"]}, False),
    ('{"r": [{"anything-but": {"prefix": "us-"}}]}', {"r": "eu-west-1"}, True),
    ('{"r": [{"anything-but": {"prefix": "us-"}}]}', {"r": "us-east-1"}, False),
    ('{"f": [{"anything-but": {"suffix": ".png"}}]}', {"f": "a.jpg"}, True),
    ('{"f": [{"anything-but": {"suffix": ".png"}}]}', {"f": "a.png"}, False),
    ('{"s": [{"anything-but": {"equals-ignore-case": ["A", "B"]}}]}', {"s": "b"}, False),
    ('{"s": [{"anything-but": {"equals-ignore-case": ["A", "B"]}}]}', {"s": "c"}, True),
    ('{"p": [{"anything-but": {"wildcard": "*/lib/*"}}]}', {"p": "/usr/lib/x"}, False),
    ('{"p": [{"anything-but": {"wildcard": "*/lib/*"}}]}', {"p": "/usr/bin/x"}, True),
    # numeric (spec §8.5 examples)
    ('{"n": [{"numeric": ["=", 100]}]}', {"n": 100}, True),
    ('{"n": [{"numeric": ["=", 100]}]}', {"n": 100.0}, True),
    ('{"n": [{"numeric": ["=", 3.0e2]}]}', {"n": 300}, True),
    ('{"n": [{"numeric": ["=", 100]}]}', {"n": 101}, False),
    ('{"n": [{"numeric": [">", 10, "<=", 20]}]}', {"n": 20}, True),
    ('{"n": [{"numeric": [">", 10, "<=", 20]}]}', {"n": 10}, False),
    ('{"n": [{"numeric": [">", 10, "<=", 20]}]}', {"n": 20.5}, False),
    ('{"n": [{"numeric": [">=", 10, "<", 20]}]}', {"n": 10}, True),
    ('{"n": [{"numeric": ["<", 0]}]}', {"n": -1}, True),
    ('{"n": [{"numeric": ["<", 0]}]}', {"n": "-1"}, False),
    ('{"n": [{"numeric": [">", 0]}]}', {"n": True}, False),
    ('{"n": [{"numeric": [">", 0]}]}', {"n": [-5, 3]}, True),
    # exists
    ('{"k": [{"exists": true}]}', {"k": "v"}, True),
    ('{"k": [{"exists": true}]}', {"k": None}, True),
    ('{"k": [{"exists": true}]}', {}, False),
    ('{"k": [{"exists": true}]}', {"k": {"x": 1}}, False),
    ('{"k": [{"exists": false}]}', {}, True),
    ('{"k": [{"exists": false}]}', {"k": "v"}, False),
    ('{"a": {"b": [{"exists": false}]}}', {}, True),
    ('{"a": {"b": [{"exists": false}]}}', {"a": {"b": 1}}, False),
    # wildcard
    ('{"k": [{"wildcard": "dir/*.png"}]}', {"k": "dir/a.png"}, True),
    ('{"k": [{"wildcard": "dir/*.png"}]}', {"k": "dir/a.jpg"}, False),
    ('{"k": [{"wildcard": "*"}]}', {"k": ""}, True),
    ('{"k": [{"wildcard": "a\\\\*b"}]}', {"k": "a*b"}, True),
    ('{"k": [{"wildcard": "a\\\\*b"}]}', {"k": "axxb"}, False),
    ('{"k": [{"wildcard": "a.c"}]}', {"k": "abc"}, False),
    # cidr
    ('{"ip": [{"cidr": "10.0.0.0/24"}]}', {"ip": "10.0.0.255"}, True),
    ('{"ip": [{"cidr": "10.0.0.0/24"}]}', {"ip": "10.0.1.0"}, False),
    ('{"ip": [{"cidr": "10.0.0.0/24"}]}', {"ip": "not-an-ip"}, False),
    ('{"ip": [{"cidr": "2001:db8::/32"}]}', {"ip": "2001:db8::1"}, True),
    # mixed alternatives in one array
    ('{"k": ["x", {"prefix": "y"}]}', {"k": "yes"}, True),
    ('{"k": ["x", {"prefix": "y"}, {"exists": false}]}', {}, True),
    # $or
    ('{"$or": [{"a": ["1"]}, {"b": ["2"]}]}', {"b": "2"}, True),
    ('{"$or": [{"a": ["1"]}, {"b": ["2"]}]}', {"a": "2"}, False),
    ('{"s": ["x"], "$or": [{"a": ["1"]}, {"b": ["2"]}]}', {"s": "y", "a": "1"}, False),
    (
        '{"detail": {"$or": [{"n": [{"numeric": [">", 5]}]}, {"c": ["x"]}]}}',
        {"detail": {"c": "x"}},
        True,
    ),
    # "$or" holding values is an ordinary field name
    ('{"$or": ["x"]}', {"$or": "x"}, True),
    # duplicate keys: the last wins (spec §8.5)
    ('{"k": ["a"], "k": ["b"]}', {"k": "b"}, True),
    ('{"k": ["a"], "k": ["b"]}', {"k": "a"}, False),
]


@pytest.mark.parametrize(("text", "event", "expected"), CASES)
def test_matches(text: str, event: dict[str, object], expected: bool) -> None:
    assert matches(parse_pattern(text), event) is expected


INVALID: list[tuple[str, str]] = [
    ("not json", "Pattern is not valid JSON"),
    ("[1]", "Pattern must be a JSON object"),
    ('"text"', "Pattern must be a JSON object"),
    ("{}", "Empty objects are not allowed"),
    ('{"a": {}}', r"Empty objects are not allowed \(at a\)"),
    ('{"a": []}', r"Empty arrays are not allowed \(at a\)"),
    ('{"a": "x"}', r"Match value must be an array or an object, not a string \(at a\)"),
    ('{"a": 5}', "Match value must be an array or an object, not a number"),
    ('{"a": [[1]]}', "Arrays are not allowed inside a match array"),
    ('{"a": [{"regex": "x"}]}', "Unrecognized match type regex"),
    ('{"a": [{"prefix": "x", "suffix": "y"}]}', "exactly one operator, not 2"),
    ('{"a": [{"prefix": 5}]}', "prefix match pattern must be a string"),
    ('{"a": [{"prefix": {"wildcard": "x"}}]}', "only equals-ignore-case may be nested"),
    ('{"a": [{"suffix": null}]}', "suffix match pattern must be a string"),
    ('{"a": [{"equals-ignore-case": ["x"]}]}', "equals-ignore-case match pattern must be"),
    ('{"a": [{"exists": "yes"}]}', "exists match pattern must be either true or false"),
    ('{"a": [{"numeric": [">"]}]}', "Value of numeric must be an array"),
    ('{"a": [{"numeric": ">"}]}', "Value of numeric must be an array"),
    ('{"a": [{"numeric": ["~", 1]}]}', "Unrecognized numeric range operator: ~"),
    ('{"a": [{"numeric": [">", "1"]}]}', "Value of > must be numeric"),
    ('{"a": [{"numeric": [">", true]}]}', "Value of > must be numeric"),
    ('{"a": [{"numeric": [">", 1, ">", 2]}]}', "one lower bound"),
    ('{"a": [{"numeric": ["=", 1, "<", 2]}]}', "one lower bound"),
    ('{"a": [{"numeric": [">", 5, "<", 5]}]}', "Bottom must be less than top"),
    ('{"a": [{"numeric": [">", 6e9]}]}', "between -5.0e9 and 5.0e9"),
    ('{"a": [{"anything-but": null}]}', "Inside anything-but list, null is not supported"),
    ('{"a": [{"anything-but": [true]}]}', "Inside anything-but list, a boolean is not supported"),
    ('{"a": [{"anything-but": []}]}', "Empty arrays are not allowed"),
    ('{"a": [{"anything-but": {"numeric": [">", 1]}}]}', "anything-but can only nest"),
    ('{"a": [{"anything-but": {"prefix": 1}}]}', "anything-but prefix match pattern"),
    ('{"a": [{"wildcard": "a**b"}]}', "Consecutive wildcard characters at pos 2"),
    ('{"a": [{"wildcard": "a\\\\q"}]}', "Invalid escape character at pos 1"),
    ('{"a": [{"cidr": "10.0.0.0/99"}]}', "Nonstandard IP address: 10.0.0.0/99"),
    ('{"$or": [{"a": ["1"]}]}', "at least two alternatives"),
    ('{"$or": [{"a": ["1"]}, {}]}', "Empty objects are not allowed"),
    ('{"a": [NaN]}', "NaN is not a JSON number"),
]


@pytest.mark.parametrize(("text", "reason"), INVALID)
def test_invalid_patterns_say_why(text: str, reason: str) -> None:
    with pytest.raises(PatternError, match=reason) as info:
        parse_pattern(text)
    assert isinstance(info.value, ValueError)
    assert info.value.reason == str(info.value)


def test_length_limit() -> None:
    body = '{"k": ["' + "x" * (MAX_PATTERN_LENGTH - 11) + '"]}'
    assert len(body) == MAX_PATTERN_LENGTH
    parse_pattern(body)
    with pytest.raises(PatternError, match="longer than 4096 characters"):
        parse_pattern(body[:-2] + " ]}")
    with pytest.raises(PatternError, match="longer than 10 characters"):
        parse_pattern('{"k": ["ab"]}', max_length=10)


def test_non_string_is_refused() -> None:
    with pytest.raises(PatternError, match="must be a JSON string"):
        parse_pattern({"k": ["a"]})  # type: ignore[arg-type]


def test_check_pattern_validates_parsed_patterns() -> None:
    check_pattern({"k": [{"prefix": "a"}]})
    with pytest.raises(PatternError, match="Unrecognized match type nope"):
        check_pattern({"k": [{"nope": 1}]})


def test_several_filters_are_ored() -> None:
    filters = [parse_pattern('{"a": ["1"]}'), parse_pattern('{"b": ["2"]}')]
    assert matches_any(filters, {"b": "2"})
    assert not matches_any(filters, {"a": "2"})
    assert not matches_any([], {"a": "1"})


def test_documentation_example_round_trips() -> None:
    pattern = {
        "source": ["aws.ec2"],
        "detail-type": ["EC2 Instance State-change Notification"],
        "detail": {"state": ["terminated"]},
    }
    assert parse_pattern(json.dumps(pattern)) == pattern
    assert matches(pattern, EC2_EVENT)
