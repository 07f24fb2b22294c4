"""The Kubeez upstream: pure mapping (``mapping.py``) and live model sync (``models.py``).

The HTTP conversation itself (limits, retries, polling, uploads, rehosting) is the shared
driver's (``providers/upstream``), built from :class:`KubeezAdapter`.
"""

from mediagate.providers.kubeez.mapping import KubeezAdapter
from mediagate.providers.kubeez.models import (
    Disagreement,
    KubeezModelSync,
    LiveModel,
    LiveModels,
    compare,
    parse_models,
)
from mediagate.providers.kubeez.provider import KubeezProvider, build_kubeez_provider

__all__ = [
    "Disagreement",
    "KubeezAdapter",
    "KubeezModelSync",
    "KubeezProvider",
    "LiveModel",
    "LiveModels",
    "build_kubeez_provider",
    "compare",
    "parse_models",
]
