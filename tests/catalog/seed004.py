"""Seed 004 (the GateAI Core API document) read straight from its text, for table-driven tests.

Independent of the catalog's data files: the tests compare what this parser finds in the seed
with what the catalog enforces. The document is one long line; each model is a
``### Name `model: id` `` heading, a cost line, a parameter table (Parameter | Type | Required |
Default | Constraints | Description), optional "Supported Resolutions", "Dimension Range" and an
example request body.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

#: The source document itself (``shared/`` sits beside the repository, in CI too).
SEED = Path(__file__).resolve().parents[3] / "shared" / "seeds" / "004_2559c4deeb85f744.txt"
_TABLE = (
    "| Parameter | Type | Required | Default | Constraints | Description | "
    "|---|---|---|---|---|---|"
)
#: API-wide limits (§Request Limits).
PROMPT_CAP = 1500
QUANTITY_CAP = 8


@dataclass(frozen=True)
class Row:
    """One parameter table row."""

    name: str
    type: str
    required: bool
    default: str | None
    constraints: dict[str, float]
    description: str

    @property
    def enum(self) -> list[str] | None:
        """The values of an enum type ("A / B / C"), else ``None``."""
        if " / " not in self.type:
            return None
        return [v.strip() for v in self.type.split(" / ")]


@dataclass(frozen=True)
class SeedModel:
    """One ``model:`` section of seed 004."""

    name: str
    id: str
    section: str
    cost: str
    rows: dict[str, Row]
    #: Label → sizes (one per column: one, or Small/Medium/Large).
    resolutions: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    #: Axis → (min, max, step) from "Dimension Range".
    dimension_range: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    example: dict[str, object] = field(default_factory=dict)
    glb: bool = False


def _constraints(text: str) -> dict[str, float]:
    return {k: float(v) for k, v in re.findall(r"(minLen|maxLen|min|max|step): (-?[\d.]+)", text)}


def _rows(body: str) -> tuple[dict[str, Row], str]:
    start = body.find(_TABLE)
    if start < 0:
        return {}, body
    after = body[start + len(_TABLE) :]
    ends = [i for i in (after.find(" **"), after.find(" Invalid")) if i >= 0]
    end = min(ends) if ends else len(after)
    # Cells split on "|": six per row, then the gap between "|" and the next "|".
    cells = after[:end].split("|")[1:]
    rows: dict[str, Row] = {}
    while len(cells) >= 6:
        name, typ, req, default, cons, desc = (c.strip() for c in cells[:6])
        rows[name] = Row(
            name=name,
            type=typ,
            required=req == "YES",
            default=None if default in ("-", "") else default,
            constraints=_constraints(cons),
            description=desc,
        )
        cells = cells[7:]
    return rows, after[end:]


def _resolutions(rest: str) -> dict[str, list[tuple[int, int]]]:
    found = re.search(r"\*\*Supported Resolutions[^*]*\*\*(.*?)Invalid", rest)
    if not found:
        return {}
    head, _, data = found.group(1).partition("|---")
    columns = len([c for c in head.split("|") if c.strip()])
    cells = [c.strip() for c in data.split("|")]
    cells = [c for c in cells if c and not set(c) <= {"-"}]
    out: dict[str, list[tuple[int, int]]] = {}
    for i in range(0, len(cells), columns):
        sizes = []
        for cell in cells[i + 1 : i + columns]:
            w, h = cell.split("×")
            sizes.append((int(w), int(h)))
        out[cells[i]] = sizes
    return out


@cache
def seed_models() -> dict[str, SeedModel]:
    """Every model section of seed 004, by id."""
    text = SEED.read_text(encoding="utf-8")
    heads = list(re.finditer(r"### ([^#`]*?) `model: ([^`]+)`", text))
    out: dict[str, SeedModel] = {}
    for i, head in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        body = text[head.end() : end]
        before = text[: head.start()]
        section = max(
            ("Image", before.rfind("## Image Generation Models")),
            ("Video", before.rfind("## Video Generation Models")),
            ("3D", before.rfind("## 3D Models")),
            key=lambda s: s[1],
        )[0]
        cost = re.match(r"\s*Cost: (.*?)(?= \| Parameter| \*\*|$)", body)
        rows, rest = _rows(body)
        dims = re.search(
            r"Width: (\d+)–(\d+) \(step: (\d+)\) - Height: (\d+)–(\d+) \(step: (\d+)\)", rest
        )
        example = re.search(r"```json (.*?) ```", rest)
        out[head.group(2)] = SeedModel(
            name=head.group(1).strip(),
            id=head.group(2),
            section=section,
            cost=cost.group(1).strip() if cost else "",
            rows=rows,
            resolutions=_resolutions(rest),
            dimension_range=(
                {
                    "width": tuple(map(int, dims.groups()[:3])),  # type: ignore[dict-item]
                    "height": tuple(map(int, dims.groups()[3:])),  # type: ignore[dict-item]
                }
                if dims
                else {}
            ),
            example=json.loads(example.group(1)) if example else {},
            glb="glb_urls" in rest,
        )
    return out


def inline_reference_fields() -> list[str]:
    """§Generate Content: the reference fields every model may take in ``params``."""
    text = SEED.read_text(encoding="utf-8")
    found = re.search(r"Supported inline reference fields: (.*?)\. Both", text)
    assert found
    return re.findall(r"`([a-z_]+)`", found.group(1))
