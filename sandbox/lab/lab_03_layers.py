"""Lab 3, layers: three exercises on finding, stacking and sharing layers.

Why these three: a function that imports what no layer gives it (3.1), the five-layer limit
met with a list where one layer is hidden by a later one (3.2), and a grant to exactly one
other account (3.3). The first two checks read the attempt's invocation records; the third
reads the layer version as two other accounts would, through the same permission check a
cross-account ``create_function`` goes through.
"""

from __future__ import annotations

import io
import zipfile
from typing import TYPE_CHECKING

from sandbox.lab import NotYet, Window, exercise
from sandbox.lab import ensure_function as _ensure_function

if TYPE_CHECKING:
    from sandbox import Sandbox
    from sandbox.core.telemetry import TelemetryRecord

REPORT = """import tables


def lambda_handler(event, context):
    return tables.table(event.get("rows", [["north", 12], ["south", 7]]))
"""
# name -> (description, files): the layers 3.1 offers; only one provides `tables`.
SHELF = {
    "dates": ("Calendars, time zones and business days", {"python/calendars.py": "WEEK = 7\n"}),
    "formatting": (
        "Text tables and number formats for reports",
        {
            "python/tables.py": (
                "def table(rows):\n"
                "    return '\\n'.join(' | '.join(str(c) for c in row) for row in rows)\n"
            )
        },
    ),
    "imaging": ("Thumbnails and image sizes", {"python/thumbs.py": "SIZE = (128, 128)\n"}),
}
SITE = """import json
import os

import colors
import fonts
import grid
import icons

OPT = os.environ.get("LAMBDA_SANDBOX_OPT", "/opt")
with open(os.path.join(OPT, "config", "theme.json")) as f:
    THEME = json.load(f)


def lambda_handler(event, context):
    if THEME["mode"] != "dark":
        raise ValueError(f"site is designed for the dark theme, got {THEME['mode']!r}")
    return {"page": [fonts.NAME, colors.NAME, icons.NAME, grid.NAME], "theme": THEME["mode"]}
"""
# The six layers `site` was designed for, in this order; the later theme hides the earlier.
SITE_SHELF = {
    "fonts": {"python/fonts.py": "NAME = 'fonts'\n"},
    "colors": {"python/colors.py": "NAME = 'colors'\n"},
    "icons": {"python/icons.py": "NAME = 'icons'\n"},
    "theme-light": {"config/theme.json": '{"mode": "light"}'},
    "grid": {"python/grid.py": "NAME = 'grid'\n"},
    "theme-dark": {"config/theme.json": '{"mode": "dark"}'},
}
PARTNER, STRANGER = "210987654321", "333333333333"


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def _latest_arn(sb: Sandbox, name: str, files: dict[str, str], description: str = "") -> str:
    """The latest version ARN of layer ``name``, published first if it has none."""
    versions = sb.list_layer_versions(name).layer_versions
    if versions:
        return max(versions, key=lambda v: v.version).layer_version_arn
    return sb.publish_layer_version(name, _zip(files), description=description).layer_version_arn


def _outcomes(runs: list[TelemetryRecord]) -> str:
    errors = sorted({str(r.detail.get("error_type")) for r in runs if r.detail.get("error_type")})
    return f"it failed with {', '.join(errors)}" if errors else "it did not succeed"


def _report_setup(sb: Sandbox) -> dict[str, object]:
    for name, (description, files) in SHELF.items():
        _latest_arn(sb, name, files, description)
    _ensure_function(sb, "report", REPORT)
    return {}


@exercise(
    "3.1",
    title="The missing module",
    task=(
        "`report` fails on every invoke: its code imports a module, `tables`, that is in "
        "neither its package nor any layer it has. One of this account's layers provides "
        "`tables`. Find it, give it to `report`, and invoke `report`."
    ),
    hints=(
        "sb.list_layers() shows every layer with its latest version and description; a "
        "layer version's Content Location is its zip, which you can open with zipfile.",
        "A function's layers are a configuration setting: a list of layer version ARNs. "
        "The module must be under python/ in the layer to be importable.",
    ),
    setup=_report_setup,
)
def _missing_module(sb: Sandbox, window: Window) -> str:
    runs = window.invocations("report")
    if not runs:
        raise NotYet("`report` did not run in this attempt.")
    if not any(r.detail.get("status") == "success" for r in runs):
        raise NotYet(f"`report` ran {len(runs)} time(s) in this attempt and {_outcomes(runs)}.")
    return "The layer's python/ folder is on sys.path, so `import tables` found it under /opt."


def _site_setup(sb: Sandbox) -> dict[str, object]:
    arns = [_latest_arn(sb, name, files) for name, files in SITE_SHELF.items()]
    _ensure_function(sb, "site", SITE)
    return {"SITE_LAYERS": arns}


@exercise(
    "3.2",
    title="Six into five",
    task=(
        "`site` was designed for the six layers in `SITE_LAYERS`, in that order, and Lambda "
        "refuses more than five. Give `site` at most five of those layers so that it runs "
        "exactly as it would with all six, then invoke it."
    ),
    hints=(
        "Layers are extracted in order into one /opt, and a later layer's file replaces an "
        "earlier one's. Does every one of the six still add something with all six?",
        "List each layer's files (get_layer_version_by_arn(arn).to_aws()['Content']"
        "['Location'] is a file:// URL of its zip) and look for a file two layers share.",
    ),
    setup=_site_setup,
)
def _six_into_five(sb: Sandbox, window: Window) -> str:
    runs = window.invocations("site")
    if not runs:
        raise NotYet("`site` did not run in this attempt.")
    if not any(r.detail.get("status") == "success" for r in runs):
        raise NotYet(f"`site` ran {len(runs)} time(s) in this attempt and {_outcomes(runs)}.")
    return "A layer whose every file a later layer replaces adds nothing but a slot."


def _brand_setup(sb: Sandbox) -> dict[str, object]:
    versions = sb.list_layer_versions("brand-assets").layer_versions
    for n in range(len(versions), 2):
        files = {"brand/logo.txt": "*" * (n + 1)}
        sb.publish_layer_version("brand-assets", _zip(files), description=f"logo v{n + 1}")
    return {}


@exercise(
    "3.3",
    title="One partner, one version",
    task=(
        f"Let the account `{PARTNER}`, and no other account, use version 2 of your layer "
        f"`brand-assets`. The check reads that version as `{PARTNER}` and as another "
        "account."
    ),
    hints=(
        "Another account's use of a layer version is allowed by a resource-based policy on "
        "that version (section 5).",
        "The principal is an account id, or * for everyone; the action is lambda:GetLayerVersion.",
        "Grants add up: a statement that lets another principal in stays until you remove it "
        "(get_layer_version_policy shows them all).",
    ),
    setup=_brand_setup,
)
def _one_partner(sb: Sandbox, window: Window) -> str:
    arn = sb.get_layer_version("brand-assets", 2).layer_version_arn
    try:
        sb.for_account(PARTNER).get_layer_version_by_arn(arn)
    except sb.exceptions.AccessDeniedException:
        raise NotYet(f"account {PARTNER} cannot use version 2 of brand-assets yet.") from None
    try:
        sb.for_account(STRANGER).get_layer_version_by_arn(arn)
    except sb.exceptions.AccessDeniedException:
        return "The grant is on one version: a new version starts private again."
    raise NotYet(f"account {PARTNER} can use version 2, and so can account {STRANGER}.")
