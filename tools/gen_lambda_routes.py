"""Generate ``sandbox/http/lambda_routes.json`` from botocore's Lambda service model.

The endpoint must answer exactly as botocore expects (paths, methods, status codes,
where each member travels), but botocore must not be a runtime dependency of the
sandbox; so the few facts the router needs are extracted here, once, into a compact
table that is committed. Rerun after upgrading botocore::

    python tools/gen_lambda_routes.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import botocore.session

OUT = Path(__file__).resolve().parent.parent / "sandbox" / "http" / "lambda_routes.json"


def _location_members(model: Any, shape_name: str | None) -> dict[str, list[str]]:
    """Members carried outside the JSON body: ``{member: [location, wire name, type]}``."""
    if shape_name is None:
        return {}
    shape = model.shape_for(shape_name)
    found: dict[str, list[str]] = {}
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        if location:
            wire = member.serialization.get("name", name)
            found[name] = [location, wire, member.type_name]
        elif shape.serialization.get("payload") == name:
            found[name] = ["payload", name, member.type_name]
    return found


def main() -> None:
    model = botocore.session.get_session().get_service_model("lambda")
    routes = []
    for name in model.operation_names:
        op = model.operation_model(name)
        http = op.http
        routes.append(
            {
                "op": name,
                "method": http["method"],
                "uri": http["requestUri"],
                "status": http.get("responseCode", 200),
                "in": _location_members(model, op.input_shape.name if op.input_shape else None),
                "out": _location_members(model, op.output_shape.name if op.output_shape else None),
            }
        )
    payload = {"apiVersion": model.api_version, "botocore": botocore.__version__, "routes": routes}
    OUT.write_text(json.dumps(payload, separators=(",", ":"), sort_keys=True) + "\n")
    print(f"{len(routes)} routes -> {OUT}")


if __name__ == "__main__":
    main()
