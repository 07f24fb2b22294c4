"""Offline 3D output: a real binary glTF (``.glb``) the local provider writes for 3D models.

The mesh is a box whose proportions and colour follow the prompt's seed, so different
prompts give visibly different models, and any glTF viewer opens the file.
"""

from __future__ import annotations

import json
import random
import struct

_GLB_MAGIC = 0x46546C67  # "glTF"
_CHUNK_JSON = 0x4E4F534A
_CHUNK_BIN = 0x004E4942
_FLOAT = 5126
_USHORT = 5123
_ARRAY_BUFFER = 34962
_ELEMENT_ARRAY_BUFFER = 34963

# A box: 8 corners, 12 triangles (counter-clockwise seen from outside).
_CORNERS = [(x, y, z) for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)]
_TRIANGLES = [
    (0, 1, 3), (0, 3, 2),  # x = -1
    (4, 6, 7), (4, 7, 5),  # x = +1
    (0, 4, 5), (0, 5, 1),  # y = -1
    (2, 3, 7), (2, 7, 6),  # y = +1
    (0, 2, 6), (0, 6, 4),  # z = -1
    (1, 5, 7), (1, 7, 3),  # z = +1
]  # fmt: skip


def _pad(data: bytes, fill: bytes) -> bytes:
    return data + fill * (-len(data) % 4)


def render_glb(*, prompt: str, seed: int | None) -> tuple[bytes, dict[str, float]]:
    """The ``.glb`` bytes of a box shaped by ``seed`` (or the prompt), and its half extents."""
    rng = random.Random(seed if seed is not None else prompt)
    half = {axis: round(rng.uniform(0.3, 1.0), 3) for axis in ("x", "y", "z")}
    colour = [round(rng.uniform(0.15, 0.95), 3) for _ in range(3)] + [1.0]
    positions = [(x * half["x"], y * half["y"], z * half["z"]) for x, y, z in _CORNERS]
    pos_bytes = b"".join(struct.pack("<3f", *p) for p in positions)
    idx_bytes = _pad(b"".join(struct.pack("<3H", *t) for t in _TRIANGLES), b"\x00")
    binary = pos_bytes + idx_bytes
    doc = {
        "asset": {"version": "2.0", "generator": "mediagate local provider"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0, "name": prompt[:64]}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "indices": 1, "material": 0}]}],
        "materials": [
            {"pbrMetallicRoughness": {"baseColorFactor": colour, "roughnessFactor": 0.6}}
        ],
        "buffers": [{"byteLength": len(binary)}],
        "bufferViews": [
            {"buffer": 0, "byteOffset": 0, "byteLength": len(pos_bytes), "target": _ARRAY_BUFFER},
            {
                "buffer": 0,
                "byteOffset": len(pos_bytes),
                "byteLength": len(_TRIANGLES) * 6,
                "target": _ELEMENT_ARRAY_BUFFER,
            },
        ],
        "accessors": [
            {
                "bufferView": 0,
                "componentType": _FLOAT,
                "count": len(positions),
                "type": "VEC3",
                "min": [-half["x"], -half["y"], -half["z"]],
                "max": [half["x"], half["y"], half["z"]],
            },
            {
                "bufferView": 1,
                "componentType": _USHORT,
                "count": len(_TRIANGLES) * 3,
                "type": "SCALAR",
            },
        ],
    }
    json_chunk = _pad(json.dumps(doc, separators=(",", ":")).encode(), b" ")
    total = 12 + 8 + len(json_chunk) + 8 + len(binary)
    out = struct.pack("<III", _GLB_MAGIC, 2, total)
    out += struct.pack("<II", len(json_chunk), _CHUNK_JSON) + json_chunk
    out += struct.pack("<II", len(binary), _CHUNK_BIN) + binary
    return out, half
