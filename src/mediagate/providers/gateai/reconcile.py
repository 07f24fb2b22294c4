"""Finding a GateAI task whose submit answer was lost, in ``GET /api/me`` (pure; no I/O).

``/api/me`` lists a key's ``active_tasks`` (with ``elapsed``, e.g. ``"12s"``), its last 20
``recent_tasks`` (finished or failed, without ``elapsed``) and ``concurrency.active_slots``
(``taskId``, numeric ``elapsed``). The driver calls :func:`find_task` through the adapter's
``find_submitted`` after an ambiguous submit, so nothing is submitted (and charged) twice.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, Literal

from mediagate.providers.upstream.answers import answer_id

#: Seed 004: ``recent_tasks`` holds the last 20 finished generations.
RECENT_TASKS_MAX = 20
#: Clock skew and rounding allowed between our "submitted N s ago" and GateAI's ``elapsed``.
ELAPSED_SLACK_S = 5.0

_PART_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|h|m|s)?", re.IGNORECASE)
# A unit after every number but the last keeps the match linear (no ambiguous digit splits).
_ELAPSED_RE = re.compile(
    r"\s*(?:\d+(?:\.\d+)?\s*(?:ms|h|m|s)[\s,]*)*(?:\d+(?:\.\d+)?\s*)?", re.IGNORECASE
)


def parse_elapsed(value: Any) -> float | None:
    """Seconds from ``12``, ``"12s"``, ``"1m 5s"``, ``"2m"``; ``None`` when unreadable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) and value >= 0 else None
    if not isinstance(value, str) or len(value) > 40 or not value.strip():
        return None
    if not _ELAPSED_RE.fullmatch(value):
        return None
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    return sum(
        float(number) * units[(unit or "s").lower()] for number, unit in _PART_RE.findall(value)
    )


def _listed_tasks(body: Mapping[str, Any]) -> dict[str, tuple[str, float | None]] | None:
    """Task id → (model, elapsed seconds) from ``active_tasks``, ``recent_tasks`` and
    ``concurrency.active_slots``; ``None`` when the answer lists none of them."""
    tasks: dict[str, tuple[str, float | None]] = {}
    concurrency = body.get("concurrency")
    slots = concurrency.get("active_slots") if isinstance(concurrency, Mapping) else None
    sources = [body.get("active_tasks"), body.get("recent_tasks"), slots]
    if all(not isinstance(s, list) for s in sources[:2]):
        return None
    for source in sources:
        for item in source if isinstance(source, list) else ():
            if not isinstance(item, Mapping):
                continue
            task_id = answer_id(item.get("task_id", item.get("taskId")))
            model = item.get("model")
            if task_id is None or not isinstance(model, str):
                continue
            elapsed = parse_elapsed(item.get("elapsed"))
            known = tasks.get(task_id)
            if known is None or known[1] is None:
                tasks[task_id] = (model, elapsed)
    return tasks


def _covers(body: Mapping[str, Any], window_s: float) -> bool:
    """Whether the listing would show any task started within the last ``window_s``.

    Active tasks are all listed; finished ones only the newest 20, so a full ``recent_tasks``
    covers the window only if one of them is known to be older than it.
    """
    recent = body.get("recent_tasks")
    if not isinstance(body.get("active_tasks"), list) or not isinstance(recent, list):
        return False
    if len(recent) < RECENT_TASKS_MAX:
        return True
    ages = (parse_elapsed(t.get("elapsed")) for t in recent if isinstance(t, Mapping))
    return any(a is not None and a > window_s for a in ages)


def _model_key(model: str) -> str:
    # GateAI spells one model several ways (``gpt-image-2`` in /api/me, ``gpt_image_2_0`` in
    # a status answer); compare without case and separators.
    return re.sub(r"[\s._-]+", "", model.lower())


def find_task(
    body: Any, *, model: str, submitted_after_s: float, known_ids: frozenset[str]
) -> str | Literal["absent"] | None:
    """Our task in an ``/api/me`` answer: of ``model``, not owned, not older than our submit.

    Candidates are the tasks of ``model`` whose id is not in ``known_ids`` and whose
    ``elapsed`` is at most ``submitted_after_s`` (plus a little slack), and also the
    finished ones of unknown age: ``recent_tasks`` carries no ``elapsed``, and a fast job
    (an image takes seconds) is already there when we look — ignoring them could call a
    made job absent and charge it twice. One candidate → its id (the driver still checks
    no other generation owns it); several → ``None``; none → ``"absent"``, but only when
    the listing covers the window (``recent_tasks`` below its 20-task cap, or reaching
    back past our submit), else ``None``.
    """
    if not isinstance(body, Mapping):
        return None
    tasks = _listed_tasks(body)
    if tasks is None:
        return None
    wanted = _model_key(model)
    window = submitted_after_s + ELAPSED_SLACK_S
    candidates = [
        task_id
        for task_id, (task_model, elapsed) in tasks.items()
        if task_id not in known_ids
        and _model_key(task_model) == wanted
        and (elapsed is None or elapsed <= window)
    ]
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        return None
    return "absent" if _covers(body, window) else None
