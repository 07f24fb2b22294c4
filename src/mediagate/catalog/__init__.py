"""The catalog: per-model limit tables, validation, pricing and time estimates.

Pure: no network, no job state, imports nothing from ``server``, ``jobs``, ``providers`` or
``media``. The tables are data files under ``data/`` checked by pydantic at load time.
"""

from mediagate.catalog.loader import CatalogError, load_catalog
from mediagate.catalog.registry import Catalog
from mediagate.catalog.request import GenerationRequest, SourceMedia
from mediagate.catalog.validate import validate_generate

__all__ = [
    "Catalog",
    "CatalogError",
    "GenerationRequest",
    "SourceMedia",
    "load_catalog",
    "validate_generate",
]
