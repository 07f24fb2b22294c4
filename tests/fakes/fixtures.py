"""Pytest fixtures for the fakes, registered in ``tests/conftest.py`` for every test.

* ``fake_gateai`` / ``fake_kubeez``: a started fake with fresh state, stopped after the test.
  Their options come from ``fake_gateai_options`` / ``fake_kubeez_options`` (a dict, default
  ``{"processing_s": 0.3}``), which a module or test may override::

      @pytest.fixture
      def fake_gateai_options():
          return {"processing_s": 0.2, "window_s": 2.0}

* ``start_fake``: a factory for more fakes, ``start_fake("gateai", api_keys=["a", "b"])``;
  every fake it starts is stopped after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fakes.base import FakeUpstream
from fakes.gateai import FakeGateAI
from fakes.kubeez import FakeKubeez

FAKES: dict[str, type[FakeUpstream]] = {"gateai": FakeGateAI, "kubeez": FakeKubeez}
TEST_PROCESSING_S = 0.3


@pytest.fixture
def start_fake() -> Iterator[Callable[..., Any]]:
    """``start_fake("gateai" | "kubeez", **options)`` → a started fake (stopped at teardown)."""
    started: list[FakeUpstream] = []

    def start(name: str, **options: Any) -> Any:
        fake = FAKES[name](**options)
        fake.start()
        started.append(fake)
        return fake

    yield start
    errors = []
    for fake in reversed(started):
        try:
            fake.stop()
        except Exception as exc:  # stop every fake even if one fails
            errors.append(exc)
    if errors:
        raise errors[0]


@pytest.fixture
def fake_gateai_options() -> dict[str, Any]:
    """Options for ``fake_gateai``; override to change limits, timings or keys."""
    return {"processing_s": TEST_PROCESSING_S}


@pytest.fixture
def fake_kubeez_options() -> dict[str, Any]:
    """Options for ``fake_kubeez``; override to change limits, timings or keys."""
    return {"processing_s": TEST_PROCESSING_S}


@pytest.fixture
def fake_gateai(start_fake: Callable[..., Any], fake_gateai_options: dict[str, Any]) -> FakeGateAI:
    """A running fake GateAI with fresh state (see ``fakes.gateai``)."""
    fake: FakeGateAI = start_fake("gateai", **fake_gateai_options)
    return fake


@pytest.fixture
def fake_kubeez(start_fake: Callable[..., Any], fake_kubeez_options: dict[str, Any]) -> FakeKubeez:
    """A running fake Kubeez with fresh state (see ``fakes.kubeez``)."""
    fake: FakeKubeez = start_fake("kubeez", **fake_kubeez_options)
    return fake
