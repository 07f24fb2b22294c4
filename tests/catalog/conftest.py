"""Shared fixtures for the catalog tests: one loaded catalog and small validation helpers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from mediagate.catalog import GenerationRequest, load_catalog, validate_generate
from mediagate.catalog.registry import Catalog
from mediagate.errors import MediagateError


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """The shipped limit tables, loaded once for the whole session."""
    return load_catalog()


@pytest.fixture(scope="session")
def accept(catalog: Catalog) -> Callable[..., GenerationRequest]:
    """Validate arguments that must be accepted (a prompt is supplied when omitted)."""

    def _accept(args: Mapping[str, Any], **kwargs: Any) -> GenerationRequest:
        full = {"prompt": "a quiet harbour at dawn", **args}
        return validate_generate(full, catalog, **kwargs)

    return _accept


@pytest.fixture(scope="session")
def reject(catalog: Catalog) -> Callable[..., MediagateError]:
    """Validate arguments that must be refused; return the error after checking its code."""

    def _reject(args: Mapping[str, Any], code: str, **kwargs: Any) -> MediagateError:
        full = {"prompt": "a quiet harbour at dawn", **args}
        with pytest.raises(MediagateError) as info:
            validate_generate(full, catalog, **kwargs)
        err = info.value
        assert err.code == code, err.payload
        assert err.payload["error"] == code
        assert err.payload["message"]
        return err

    return _reject
