"""The fake GateAI's books: its jobs, their states over time, slots and the daily budget.

Everything is computed from the fake's clock when asked, so ``clock.advance`` moves jobs past
the 20-minute refund and the 40-minute hard limit, frees 10-minute slots and turns the budget
day, without a background task. Callers hold the fake's lock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from fakes.base import Clock
from fakes.gateai_models import Model

TIMEOUT_ERROR = "Generation timed out (40 min hard limit)"
CONTENT_POLICY_ERROR = "Content policy violation: the request was flagged by the safety system"
GENERIC_ERROR = "Generation failed: the upstream provider returned an error"
#: Seed 004: ``recent_tasks`` lists the last 20 finished generations.
RECENT_TASKS = 20


@dataclass
class GateTask:
    """One generation. Times are on the fake's clock."""

    task_id: str
    key: str
    model: Model
    params: dict[str, Any]
    cost: float
    created: float
    created_wall: float
    finish_at: float
    outcome: str = "FINISHED"
    error: str | None = None
    results: list[str] = field(default_factory=list)
    glbs: list[str] = field(default_factory=list)


def _utc_day(wall: float) -> dt.date:
    return dt.datetime.fromtimestamp(wall, dt.UTC).date()


class Ledger:
    """Jobs by id and by key, budgets per key and UTC day."""

    def __init__(
        self,
        clock: Clock,
        *,
        daily_budget: float,
        slot_release_s: float,
        refund_after_s: float,
        hard_limit_s: float,
    ) -> None:
        self.clock = clock
        self.daily_budget = daily_budget
        self.slot_release_s = slot_release_s
        self.refund_after_s = refund_after_s
        self.hard_limit_s = hard_limit_s
        self.tasks: dict[str, GateTask] = {}
        self._by_key: dict[str, list[GateTask]] = {}
        self._limits: dict[str, float] = {}
        self._used_offset: dict[tuple[str, dt.date], float] = {}

    def add(self, task: GateTask) -> None:
        self.tasks[task.task_id] = task
        self._by_key.setdefault(task.key, []).append(task)

    def of(self, key: str) -> list[GateTask]:
        return self._by_key.get(key, [])

    def decide(self, task_id: str, outcome: str, error: str | None) -> None:
        task = self.tasks[task_id]
        task.finish_at = min(task.finish_at, self.clock.now())
        task.outcome, task.error = outcome, error

    # --- one job ------------------------------------------------------------------------------

    def ended_at(self, task: GateTask) -> float:
        return min(task.finish_at, task.created + self.hard_limit_s)

    def state(self, task: GateTask, now: float) -> tuple[str, str | None]:
        """``PROCESSING``, ``FINISHED`` or ``FAILED``, and the failure's text."""
        deadline = task.created + self.hard_limit_s
        if task.finish_at > deadline and now >= deadline:
            return "FAILED", TIMEOUT_ERROR
        if now >= task.finish_at:
            return task.outcome, task.error
        return "PROCESSING", None

    def charged(self, task: GateTask, now: float) -> float:
        """What the job costs now: nothing once it failed or ran past the 20-minute refund."""
        if self.state(task, now)[0] == "FAILED":
            return 0.0
        refund_at = task.created + self.refund_after_s
        if now >= refund_at and self.ended_at(task) > refund_at:
            return 0.0
        return task.cost

    # --- per key ------------------------------------------------------------------------------

    def today(self) -> dt.date:
        return _utc_day(self.clock.wall())

    def jobs_spent(self, key: str) -> float:
        now, today = self.clock.now(), self.today()
        return sum(self.charged(t, now) for t in self.of(key) if _utc_day(t.created_wall) == today)

    def used(self, key: str) -> float:
        return self._used_offset.get((key, self.today()), 0.0) + self.jobs_spent(key)

    def limit(self, key: str) -> float:
        return self._limits.get(key, self.daily_budget)

    def remaining(self, key: str) -> float:
        return round(max(0.0, self.limit(key) - self.used(key)), 4)

    def set_budget(self, key: str, used: float | None, daily_limit: float | None) -> None:
        if daily_limit is not None:
            self._limits[key] = daily_limit
        if used is not None:
            self._used_offset[(key, self.today())] = used - self.jobs_spent(key)

    def budget(self, key: str) -> dict[str, float]:
        return {
            "daily_limit": self.limit(key),
            "used": round(self.used(key), 4),
            "remaining": self.remaining(key),
        }

    def slots(self, key: str, now: float) -> list[GateTask]:
        """Jobs holding a concurrency slot: running, and submitted under 10 minutes ago."""
        return [
            t
            for t in self.of(key)
            if now < self.ended_at(t) and now < t.created + self.slot_release_s
        ]

    def slot_frees_at(self, slots: list[GateTask]) -> float:
        return min(min(self.ended_at(t), t.created + self.slot_release_s) for t in slots)

    def me(self, key: str, max_in_flight: int | None) -> dict[str, Any]:
        """The ``/api/me`` answer for ``key``."""
        now = self.clock.now()
        tasks = self.of(key)
        slots = self.slots(key, now)
        states = {t.task_id: self.state(t, now)[0] for t in tasks}
        active = [t for t in tasks if states[t.task_id] == "PROCESSING"]
        ended = sorted(
            (t for t in tasks if states[t.task_id] != "PROCESSING"),
            key=self.ended_at,
            reverse=True,
        )[:RECENT_TASKS]
        spending: dict[str, dict[str, Any]] = {}
        for t in tasks:
            if _utc_day(t.created_wall) != self.today():
                continue
            row = spending.setdefault(t.model.id, {"requests": 0, "cost": 0.0})
            row["requests"] += 1
            row["cost"] = round(row["cost"] + self.charged(t, now), 4)
        return {
            "budget": self.budget(key),
            "concurrency": {
                "used": len(slots),
                "max": max_in_flight,
                "available": max(0, (max_in_flight or 0) - len(slots)),
                "active_slots": [
                    {"taskId": t.task_id, "model": t.model.id, "elapsed": int(now - t.created)}
                    for t in slots
                ],
            },
            "active_tasks": [
                {
                    "task_id": t.task_id,
                    "model": t.model.id,
                    "status": "PROCESSING",
                    "cost": t.cost,
                    "elapsed": f"{int(now - t.created)}s",
                }
                for t in active
            ],
            "recent_tasks": [
                {
                    "task_id": t.task_id,
                    "model": t.model.id,
                    "status": states[t.task_id],
                    "cost": self.charged(t, now),
                    "result_count": len(t.results) if states[t.task_id] == "FINISHED" else 0,
                }
                for t in ended
            ],
            "today_spending": spending,
        }
