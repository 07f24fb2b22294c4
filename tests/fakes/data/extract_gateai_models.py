"""Regenerate ``gateai_models.json`` from the GateAI seed (``seeds/004_*.txt``).

    python tests/fakes/data/extract_gateai_models.py /path/to/seeds/004_*.txt

The seed is one long line of Markdown; each model is a ``### Name `model: id` Cost: ...``
section with a six-column parameter table and a JSON example. The fake GateAI serves this data
from ``/v1/models``, ``/v1/models/schema`` and ``/v1/models/:id`` and validates against it.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("gateai_models.json")
SECTIONS = {
    "Image Generation Models": "image",
    "Video Generation Models": "video",
    "3D Models": "3d",
}
PLAIN_TYPES = {"integer", "number", "string", "boolean", "array", "?"}
NOTES = [
    "type is the section the model is listed under (lucid-origin, lucid-realism and "
    "cortex-v0.9/v1.0 are listed under video).",
    "'any' is the seed's '?' type; enum params carry type integer or string by their values.",
    "seedance-2.0 and seedance-2.0-fast: the seed's parameter table has no 'mode', but its "
    "request example and its /v1/models/seedance-2.0 example use mode RESOLUTION_720/"
    "RESOLUTION_1080, so the fake adds it. The same example shows duration as min 4 max 15 "
    "default 4; the table (enum 4..15, default 8) is used.",
]
SEEDANCE_MODE = {
    "type": "string",
    "enum": ["RESOLUTION_720", "RESOLUTION_1080"],
    "required": False,
    "default": "RESOLUTION_720",
    "description": "Output resolution (not in the seed's table; from its /v1/models/seedance-2.0 "
    "and request examples).",
}


def _default(raw: str, kind: str) -> Any:
    if kind == "integer" and re.fullmatch(r"-?\d+", raw):
        return int(raw)
    if kind == "number" and re.fullmatch(r"-?[\d.]+", raw):
        return float(raw) if "." in raw else int(raw)
    if kind in ("boolean", "any") and raw in ("true", "false"):
        return raw == "true"
    if kind == "array":
        return [raw]
    return raw


def _param(ptype: str, required: str, default: str, constraints: str, desc: str) -> dict[str, Any]:
    param: dict[str, Any] = {}
    if ptype in PLAIN_TYPES:
        param["type"] = "any" if ptype == "?" else ptype
    else:
        values = [v.strip() for v in ptype.split(" / ")]
        if all(re.fullmatch(r"-?\d+", v) for v in values):
            param["type"], param["enum"] = "integer", [int(v) for v in values]
        else:
            param["type"], param["enum"] = "string", values
    param["required"] = required == "YES"
    if default not in ("-", ""):
        param["default"] = _default(default, param["type"])
    for key, value in re.findall(r"(minLen|maxLen|min|max|step): (-?[\d.]+)", constraints):
        param[key] = float(value) if "." in value else int(value)
    if desc != "-":
        param["description"] = desc
    return param


def _table(chunk: str, model_id: str) -> dict[str, dict[str, Any]]:
    found = re.search(
        r"\| Parameter \| Type \| Required \| Default \| Constraints \| Description \| "
        r"\|---\|---\|---\|---\|---\|---\| (.*?)(?= \*\*|$)",
        chunk,
    )
    if not found:
        return {}
    # Rows are "| a | b | c | d | e | f |" separated by one space; cells may be empty.
    tokens = found.group(1).strip().split("|")
    assert tokens[0] == "" and tokens[-1] == "", model_id
    tokens = tokens[1:-1]
    assert len(tokens) % 7 == 6, (model_id, len(tokens))
    params = {}
    for start in range(0, len(tokens), 7):
        name, ptype, required, default, constraints, desc = (
            t.strip() for t in tokens[start : start + 6]
        )
        params[name] = _param(ptype, required, default, constraints, desc)
    return params


def extract(seed: str) -> list[dict[str, Any]]:
    parts = re.split(r"## (Image Generation Models|Video Generation Models|3D Models)", seed)
    models = []
    for index in range(1, len(parts), 2):
        kind = SECTIONS[parts[index]]
        for chunk in parts[index + 1].split(" --- "):
            head = re.search(
                r"### (.+?) `model: ([^`]+)` Cost: (.+?)(?= \| Parameter| \*\*Example| \*\*3D|$)",
                chunk,
            )
            if not head:
                continue
            model_id = head.group(2).strip()
            params = _table(chunk, model_id)
            if model_id in ("seedance-2.0", "seedance-2.0-fast"):
                params = {k: v for k, v in params.items()}
                items = list(params.items())
                at = [k for k, _ in items].index("height") + 1
                params = dict([*items[:at], ("mode", SEEDANCE_MODE), *items[at:]])
            entry: dict[str, Any] = {
                "id": model_id,
                "name": head.group(1).strip(),
                "type": kind,
                "cost": head.group(3).strip(),
                "params": params,
            }
            example = re.search(r"\*\*Example:\*\* ```json (.*?) ```", chunk)
            if example:
                entry["example"] = json.loads(example.group(1))
            models.append(entry)
    return models


def main() -> None:
    seed = Path(sys.argv[1]).read_text()
    doc = {
        "source": "seeds/004 (GateAI Core API), extracted by extract_gateai_models.py",
        "notes": NOTES,
        "models": extract(seed),
    }
    OUT.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(doc['models'])} models -> {OUT}")


if __name__ == "__main__":
    main()
