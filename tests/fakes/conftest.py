"""Authenticated clients for driving the fakes directly over HTTP in their own tests."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest

from fakes.drive import connect
from fakes.gateai import FakeGateAI
from fakes.kubeez import FakeKubeez


@pytest.fixture
def gateai(fake_gateai: FakeGateAI) -> Iterator[httpx2.Client]:
    """An authenticated client for ``fake_gateai``."""
    with connect(fake_gateai) as client:
        yield client


@pytest.fixture
def kubeez(fake_kubeez: FakeKubeez) -> Iterator[httpx2.Client]:
    """An authenticated client for ``fake_kubeez``."""
    with connect(fake_kubeez) as client:
        yield client
