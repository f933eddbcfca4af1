"""Service events: a catalogue of templates, a builder and validation (spec §9).

An event is a JSON document. For a custom event (a direct ``invoke``) the caller chooses
its shape; each AWS service that invokes a function defines its own. This package holds
one template per service event (``templates/*.json``, each naming its AWS source in
:data:`CATALOGUE`), :func:`generate` to fill one in with the fields that matter, and
:func:`validate` to check an event's shape.

>>> from sandbox import events
>>> event = events.generate("s3-put", bucket="photos", key="my cat.jpg")
>>> event["Records"][0]["s3"]["object"]["key"]
'my+cat.jpg'
"""

from __future__ import annotations

from sandbox.events.builder import (
    decode_awslogs,
    describe,
    encode_awslogs,
    generate,
    kinds,
    md5_of_message_attributes,
    template,
    to_attribute_value,
)
from sandbox.events.catalogue import CATALOGUE, Template
from sandbox.events.validate import check_payload, validate

__all__ = [
    "CATALOGUE",
    "Template",
    "check_payload",
    "decode_awslogs",
    "describe",
    "encode_awslogs",
    "generate",
    "kinds",
    "md5_of_message_attributes",
    "template",
    "to_attribute_value",
    "validate",
]
