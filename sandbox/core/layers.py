"""Layers as Lambda describes them (spec §6): layer versions, their listings, and the
resource-based policy that shares a version with other accounts.

Pure data and rules; the store and the service layer do the reading and writing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sandbox.core.arns import layer_arn, layer_version_arn
from sandbox.errors import validation_error

__all__ = [
    "LAYER_ARN_PATTERN",
    "LayerList",
    "LayerPolicyStatement",
    "LayerSummary",
    "LayerVersion",
    "LayerVersionList",
    "grants",
    "parse_layer_name",
    "parse_layer_version_arn",
    "policy_document",
]

JsonDict = dict[str, object]

# botocore's LayerName: a name or an unversioned layer ARN, 1-140 characters
_LAYER_NAME = r"[a-zA-Z0-9-_]+"
LAYER_ARN_PATTERN = r"arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+"
_NAME_OR_ARN = re.compile(
    r"^(arn:[a-zA-Z0-9-]+:lambda:(?P<region>[a-zA-Z0-9-]+):(?P<account>\d{12}):layer:"
    rf"(?P<arn_name>{_LAYER_NAME}))$|^(?P<name>{_LAYER_NAME})$"
)
_VERSION_ARN = re.compile(
    r"^arn:[a-zA-Z0-9-]+:lambda:(?P<region>[a-zA-Z0-9-]+):(?P<account>\d{12}):layer:"
    rf"(?P<name>{_LAYER_NAME}):(?P<version>[0-9]+)$"
)
_LAYER_VERSION_ARN_PATTERN = LAYER_ARN_PATTERN + ":[0-9]+"


def parse_layer_name(layer_name: str, *, region: str, account_id: str) -> tuple[str, str, str]:
    """``(region, account, name)`` of a layer given by name (the caller's) or by ARN.

    Raises:
        ValidationException: neither a layer name nor a layer ARN (AWS's model check).
    """
    match = _NAME_OR_ARN.match(layer_name) if len(layer_name) <= 140 else None
    if match is None:
        raise validation_error(
            layer_name,
            "layerName",
            "Member must satisfy regular expression pattern: "
            "(arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+)|"
            "[a-zA-Z0-9-_]+",
        )
    if match["name"]:
        return region, account_id, match["name"]
    return match["region"], match["account"], match["arn_name"]


def parse_layer_version_arn(arn: str, member: str = "arn") -> tuple[str, str, str, int]:
    """``(region, account, name, version)`` of a layer *version* ARN.

    Raises:
        ValidationException: not a layer version ARN (an unversioned one included).
    """
    match = _VERSION_ARN.match(arn) if 1 <= len(arn) <= 140 else None
    if match is None:
        raise validation_error(
            arn,
            member,
            "Member must satisfy regular expression pattern: " + _LAYER_VERSION_ARN_PATTERN,
        )
    return match["region"], match["account"], match["name"], int(match["version"])


@dataclass(frozen=True, slots=True)
class LayerPolicyStatement:
    """One statement of a layer version's policy: who may ``lambda:GetLayerVersion`` it.

    ``principal`` is what the caller gave (a 12-digit account id, ``*`` or an account's
    ``root`` ARN); ``organization_id`` narrows ``*`` to one organisation.
    """

    sid: str
    principal: str
    resource: str
    organization_id: str | None = None

    @property
    def account(self) -> str | None:
        """The one account this statement names, or ``None`` for ``*``."""
        if self.principal == "*":
            return None
        match = re.search(r"(\d{12})", self.principal)
        return match.group(1) if match else None

    def to_aws(self) -> JsonDict:
        """The statement as AWS writes it into the policy document."""
        principal: object = (
            "*" if self.principal == "*" else {"AWS": f"arn:aws:iam::{self.account}:root"}
        )
        out: JsonDict = {
            "Sid": self.sid,
            "Effect": "Allow",
            "Principal": principal,
            "Action": "lambda:GetLayerVersion",
            "Resource": self.resource,
        }
        if self.organization_id:
            out["Condition"] = {"StringEquals": {"aws:PrincipalOrgID": self.organization_id}}
        return out

    def to_record(self) -> JsonDict:
        return {
            "Sid": self.sid,
            "Principal": self.principal,
            "Resource": self.resource,
            "OrganizationId": self.organization_id,
        }

    @classmethod
    def from_record(cls, d: Mapping[str, object]) -> LayerPolicyStatement:
        org = d.get("OrganizationId")
        return cls(
            sid=str(d["Sid"]),
            principal=str(d["Principal"]),
            resource=str(d["Resource"]),
            organization_id=str(org) if org else None,
        )


def policy_document(statements: Sequence[LayerPolicyStatement]) -> str:
    """The ``Policy`` string of GetLayerVersionPolicy (spec §6)."""
    doc = {
        "Version": "2012-10-17",
        "Id": "default",
        "Statement": [s.to_aws() for s in statements],
    }
    return json.dumps(doc, separators=(",", ":"))


def grants(
    statements: Sequence[LayerPolicyStatement], account_id: str, organization_id: str | None
) -> bool:
    """Whether a policy lets ``account_id`` (in ``organization_id``) use the version."""
    for statement in statements:
        if statement.organization_id and statement.organization_id != organization_id:
            continue
        if statement.account is None or statement.account == account_id:
            return True
    return False


@dataclass(frozen=True, slots=True)
class LayerVersion:
    """One published, immutable layer version (PublishLayerVersion / GetLayerVersion).

    Attributes:
        code_sha256_hex: the artifact id of its zip in the store (AWS's ``CodeSha256`` is
            its base64 form).
        unzipped_size: the bytes it extracts to (counts toward the 250 MB quota).
        location: where the zip can be read (a ``file://`` URI, AWS: a pre-signed URL).
    """

    region: str
    account_id: str
    layer_name: str
    version: int
    code_sha256: str
    code_sha256_hex: str
    code_size: int
    unzipped_size: int
    created_date: str
    description: str = ""
    compatible_runtimes: tuple[str, ...] = ()
    compatible_architectures: tuple[str, ...] = ()
    license_info: str | None = None
    location: str = ""

    @property
    def layer_arn(self) -> str:
        return layer_arn(self.region, self.account_id, self.layer_name)

    @property
    def layer_version_arn(self) -> str:
        return layer_version_arn(self.region, self.account_id, self.layer_name, self.version)

    def list_item(self) -> JsonDict:
        """``LayerVersionsListItem``: what ListLayers and ListLayerVersions show."""
        out: JsonDict = {
            "LayerVersionArn": self.layer_version_arn,
            "Version": self.version,
            "Description": self.description,
            "CreatedDate": self.created_date,
            "CompatibleRuntimes": list(self.compatible_runtimes),
            "CompatibleArchitectures": list(self.compatible_architectures),
        }
        if self.license_info is not None:
            out["LicenseInfo"] = self.license_info
        return out

    def to_aws(self) -> JsonDict:
        """The PublishLayerVersion / GetLayerVersion response."""
        out = self.list_item()
        out["LayerArn"] = self.layer_arn
        out["Content"] = {
            "Location": self.location,
            "CodeSha256": self.code_sha256,
            "CodeSize": self.code_size,
        }
        return out

    def to_record(self) -> JsonDict:
        out = self.to_aws()
        out.pop("Content")
        out.update(
            CodeSha256=self.code_sha256,
            CodeSize=self.code_size,
            **{
                "X-Sandbox-Sha256": self.code_sha256_hex,
                "X-Sandbox-UnzippedSize": self.unzipped_size,
            },
        )
        return out

    @classmethod
    def from_record(
        cls, region: str, account_id: str, name: str, d: Mapping[str, object]
    ) -> LayerVersion:
        license_info = d.get("LicenseInfo")
        return cls(
            region=region,
            account_id=account_id,
            layer_name=name,
            version=int(str(d["Version"])),
            code_sha256=str(d["CodeSha256"]),
            code_sha256_hex=str(d["X-Sandbox-Sha256"]),
            code_size=int(str(d["CodeSize"])),
            unzipped_size=int(str(d["X-Sandbox-UnzippedSize"])),
            created_date=str(d["CreatedDate"]),
            description=str(d.get("Description", "")),
            compatible_runtimes=tuple(map(str, _list(d, "CompatibleRuntimes"))),
            compatible_architectures=tuple(map(str, _list(d, "CompatibleArchitectures"))),
            license_info=str(license_info) if license_info is not None else None,
        )


def _list(d: Mapping[str, object], key: str) -> list[object]:
    value = d.get(key)
    return list(value) if isinstance(value, list) else []


@dataclass(frozen=True, slots=True)
class LayerSummary:
    """One entry of ListLayers: a layer and its latest (matching) version."""

    layer_name: str
    layer_arn: str
    latest_matching_version: LayerVersion

    def to_aws(self) -> JsonDict:
        return {
            "LayerName": self.layer_name,
            "LayerArn": self.layer_arn,
            "LatestMatchingVersion": self.latest_matching_version.list_item(),
        }


@dataclass(frozen=True, slots=True)
class LayerList:
    """ListLayers: ``layers`` and the marker of the next page."""

    layers: tuple[LayerSummary, ...] = ()
    next_marker: str | None = None

    def to_aws(self) -> JsonDict:
        out: JsonDict = {"Layers": [layer.to_aws() for layer in self.layers]}
        if self.next_marker:
            out["NextMarker"] = self.next_marker
        return out


@dataclass(frozen=True, slots=True)
class LayerVersionList:
    """ListLayerVersions: ``layer_versions`` newest first, and the next page's marker."""

    layer_versions: tuple[LayerVersion, ...] = field(default=())
    next_marker: str | None = None

    def to_aws(self) -> JsonDict:
        out: JsonDict = {"LayerVersions": [v.list_item() for v in self.layer_versions]}
        if self.next_marker:
            out["NextMarker"] = self.next_marker
        return out
