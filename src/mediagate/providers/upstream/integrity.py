"""Is a downloaded output whole? A structural check of the formats upstreams deliver.

An HTTP download can be complete (every byte its ``Content-Length`` promised) and still hold
a cut file: a CDN or an upstream that wrote half a file and served it as it was. The header
probe does not notice — a PNG's size is in its first chunk — so before an output is kept,
its structure is checked where the format makes that cheap: nothing is decoded, only a few
length fields and the end of the file are read.

* PNG ends with an ``IEND`` chunk; JPEG with the ``FFD9`` end-of-image marker; GIF with
  its ``;`` trailer (each after any zero padding);
* RIFF (WebP, WAV) and GLB hold their total length in the header;
* ISO-BMFF (MP4, MOV, M4A, AVIF) is a run of boxes whose sizes must end at the file's end.

Other formats (MP3, Matroska, Ogg, ...) are not checked here; the probe still reads them.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"
_TAIL_BYTES = 64
_PADDING = b"\x00\r\n\t "
#: More top-level boxes than any real MP4 has; past this the file is refused as absurd.
_MAX_BOXES = 10_000
_ISO_BMFF = frozenset({"mp4", "mov", "m4a", "avif"})


def incomplete(path: Path, extension: str) -> str | None:
    """Why the file at ``path`` (of kind ``extension``) is cut short, or ``None``.

    ``None`` also when the format is not one this module checks. Blocking: run it in a
    thread.
    """
    with path.open("rb") as file:
        size = file.seek(0, 2)
        if size == 0:
            return "the file is empty"
        file.seek(max(0, size - _TAIL_BYTES))
        tail = file.read().rstrip(_PADDING)
        file.seek(0)
        head = file.read(12)
        if extension == "png" and not tail.endswith(_PNG_END):
            return "the PNG has no IEND chunk"
        if extension == "jpg" and not tail.endswith(b"\xff\xd9"):
            return "the JPEG has no end-of-image marker"
        if extension == "gif" and not tail.endswith(b";"):
            return "the GIF has no trailer"
        if extension in ("webp", "wav") and head[:4] == b"RIFF":
            declared = struct.unpack("<I", head[4:8])[0] + 8
            if size < declared:
                return f"the file is {size} of the {declared} bytes its header declares"
        if extension == "glb" and len(head) >= 12:
            declared = struct.unpack("<I", head[8:12])[0]
            if size < declared:
                return f"the file is {size} of the {declared} bytes its header declares"
        if extension in _ISO_BMFF:
            return _boxes_incomplete(file, size)
    return None


def _boxes_incomplete(stream: BinaryIO, size: int) -> str | None:
    """Walk the top-level boxes: each must fit, and the last must end at the file's end."""
    offset = 0
    for _ in range(_MAX_BOXES):
        if offset == size:
            return None
        stream.seek(offset)
        header = stream.read(16)
        if len(header) < 8:
            return "the file ends inside a box header"
        box_size = struct.unpack(">I", header[:4])[0]
        if box_size == 1:
            if len(header) < 16:
                return "the file ends inside a box header"
            box_size = struct.unpack(">Q", header[8:16])[0]
        elif box_size == 0:
            return None  # "extends to the end of the file"
        if box_size < 8:
            return f"a box at byte {offset} has an impossible size"
        if offset + box_size > size:
            box = header[4:8].decode("latin-1")
            return f"the {box!r} box needs {offset + box_size} bytes; the file has {size}"
        offset += box_size
    return "the file has an absurd number of boxes"
