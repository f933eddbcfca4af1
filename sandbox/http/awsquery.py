"""What the SQS and SNS handlers of the endpoint share: request ids, the SigV4 credential
scope, AWS's query-protocol parameters and its XML answers.

Why a module of its own: SNS speaks the query protocol (form-encoded ``Action=...`` with
flattened members such as ``MessageAttributes.entry.1.Name``, XML answers), SQS speaks JSON
but tells itself apart from other services by its headers; both need the same small, careful
parsers, and neither should trust a byte of the request.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from sandbox.http.protocol import Request

__all__ = [
    "XmlValue",
    "form_params",
    "indexed",
    "mapping",
    "request_id",
    "scope_service",
    "xml_element",
]

_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/,\s]+/(?P<service>[^/,\s]+)/aws4_request")
_FORM = "application/x-www-form-urlencoded"
_ENTITIES = {"\r": "&#xD;"}  # a bare CR would reach the reader as LF (XML end-of-line handling)
# what XML 1.0 cannot carry at all (an error message may echo it): shown as U+FFFD
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")

XmlValue = str | Mapping[str, "XmlValue"] | list["XmlValue"] | list[tuple[str, "XmlValue"]] | None
"""A value of an XML answer: text, an element's children by name, a list of ``member``
elements, or a list of ``(name, value)`` children (repeated names, as ``entry``)."""


def request_id() -> str:
    """A fresh request id, as AWS gives every answer (``x-amzn-RequestId``)."""
    return str(uuid.uuid4())


def scope_service(request: Request) -> str | None:
    """The service a SigV4 ``Authorization`` header was signed for (``sqs``, ``sns``,
    ``lambda``), or None when the request is unsigned. The endpoint serves several services
    on one port, and the signing scope is what a client meant."""
    match = _SCOPE.search(request.headers.get("authorization", ""))
    return match["service"] if match else None


def form_params(request: Request) -> dict[str, str] | None:
    """A query-protocol request's parameters: the URL's query string and, for a form-encoded
    POST, the body's (the body wins). None when the body is not a form or not UTF-8; the
    first value of a repeated parameter counts, as AWS's query services read it."""
    params = {k: v[0] for k, v in request.query.items() if v}
    if request.method == "POST" and request.body:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != _FORM:
            return None
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError:
            return None
        for key, values in parse_qs(text, keep_blank_values=True).items():
            params[key] = values[0]
    return params


def indexed(params: Mapping[str, str], prefix: str) -> list[str]:
    """The prefixes ``PREFIX.1``, ``PREFIX.2`` ... present in ``params``, in order: the
    members of a flattened list or map. The numbering starts at 1 and stops at the first gap,
    as AWS reads it."""
    found = []
    n = 1
    while any(k == f"{prefix}.{n}" or k.startswith(f"{prefix}.{n}.") for k in params):
        found.append(f"{prefix}.{n}")
        n += 1
    return found


def mapping(params: Mapping[str, str], prefix: str, key: str, value: str) -> dict[str, str]:
    """A flattened string map ``PREFIX.entry.N.KEY`` / ``PREFIX.entry.N.VALUE``; an entry
    without a value maps to ``""``."""
    return {
        params[f"{p}.{key}"]: params.get(f"{p}.{value}", "")
        for p in indexed(params, f"{prefix}.entry")
        if f"{p}.{key}" in params
    }


def xml_element(name: str, value: XmlValue) -> str:
    """``value`` as the XML element ``name``: text escaped; a mapping as child elements in
    its order (None children left out); a list as ``member`` children, or of ``(name,
    value)`` pairs as those children. Characters XML cannot carry become U+FFFD.

    >>> xml_element("A", {"B": "x<y", "C": [("entry", {"key": "k"})], "D": ["1"]})
    '<A><B>x&lt;y</B><C><entry><key>k</key></entry></C><D><member>1</member></D></A>'
    """
    if value is None:
        return ""
    if isinstance(value, str):
        text = escape(_NOT_XML.sub("\ufffd", value), _ENTITIES)
        return f"<{name}>{text}</{name}>"
    children: Iterable[str]
    if isinstance(value, list):
        children = (
            xml_element(*v) if isinstance(v, tuple) else xml_element("member", v) for v in value
        )
    else:
        children = (xml_element(k, v) for k, v in value.items())
    return f"<{name}>{''.join(children)}</{name}>"
