"""Solutions of lab 3 (layers), with plausible wrong answers."""

_ATTACH = (
    'arn = sb.get_layer_version("{layer}", 1).layer_version_arn\n'
    'sb.update_function_configuration("report", layers=[arn])\n'
    'print(sb.invoke("report", {{}}).payload)\n'
)

SOLUTIONS = {
    "3.1": {
        "solution": _ATTACH.format(layer="formatting"),
        "wrong": [
            # the first layer on the shelf
            _ATTACH.format(layer="dates"),
            # every layer but the right one
            'arns = [sb.get_layer_version(n, 1).layer_version_arn for n in ("dates", "imaging")]\n'
            'sb.update_function_configuration("report", layers=arns)\n'
            'sb.invoke("report", {})\n',
            # attached, never invoked
            'arn = sb.get_layer_version("formatting", 1).layer_version_arn\n'
            'sb.update_function_configuration("report", layers=[arn])\n',
        ],
        "secrets": ['"formatting"', "layer:formatting"],
    },
    "3.2": {
        "solution": (
            'keep = [arn for arn in SITE_LAYERS if ":layer:theme-light:" not in arn]\n'
            'sb.update_function_configuration("site", layers=keep)\n'
            'print(sb.invoke("site", {}).payload)\n'
        ),
        "wrong": [
            # the first five: the dark theme is gone
            'sb.update_function_configuration("site", layers=SITE_LAYERS[:5])\n'
            'sb.invoke("site", {})\n',
            # the last five: fonts is gone
            'sb.update_function_configuration("site", layers=SITE_LAYERS[1:])\n'
            'sb.invoke("site", {})\n',
            # all six: refused
            'sb.update_function_configuration("site", layers=SITE_LAYERS)\nsb.invoke("site", {})\n',
            # the dark theme dropped instead of the light one
            'keep = [arn for arn in SITE_LAYERS if ":layer:theme-dark:" not in arn]\n'
            'sb.update_function_configuration("site", layers=keep)\n'
            'sb.invoke("site", {})\n',
        ],
        "secrets": ["theme-light"],
    },
    "3.3": {
        "solution": (
            'sb.add_layer_version_permission("brand-assets", 2, "partner",\n'
            '                                "lambda:GetLayerVersion", "210987654321")\n'
        ),
        "wrong": [
            # everyone, not one partner
            'sb.add_layer_version_permission("brand-assets", 2, "partner",\n'
            '                                "lambda:GetLayerVersion", "*")\n',
            # the other version
            'sb.add_layer_version_permission("brand-assets", 1, "partner",\n'
            '                                "lambda:GetLayerVersion", "210987654321")\n',
            # the wrong action: refused
            'sb.add_layer_version_permission("brand-assets", 2, "partner",\n'
            '                                "lambda:InvokeFunction", "210987654321")\n',
        ],
        "secrets": ['add_layer_version_permission("brand-assets", 2'],
    },
}
