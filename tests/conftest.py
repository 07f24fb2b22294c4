"""Fixtures for every test under ``tests/``.

The fake upstreams (``tests/fakes``): ``fake_gateai``, ``fake_kubeez``, their ``*_options``
and the ``start_fake`` factory. ``tests/`` is on ``sys.path`` (pytest's rootdir-relative
import of this file), so tests import the fakes as ``from fakes import FakeGateAI``.
"""

from fakes.fixtures import (
    fake_gateai,
    fake_gateai_options,
    fake_kubeez,
    fake_kubeez_options,
    start_fake,
)

__all__ = ["fake_gateai", "fake_gateai_options", "fake_kubeez", "fake_kubeez_options", "start_fake"]
