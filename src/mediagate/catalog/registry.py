"""The loaded catalog: models, family labels and voices, indexed for fast lookup."""

from __future__ import annotations

from collections.abc import Iterable

from mediagate.catalog.schema import Family, ModelEntry, Voice, VoiceCatalog
from mediagate.errors import MediagateError


class Catalog:
    """Every model the server knows, by id, with family labels and voice catalogs."""

    def __init__(
        self,
        *,
        models: Iterable[ModelEntry],
        families: Iterable[Family],
        voice_catalogs: Iterable[VoiceCatalog],
    ) -> None:
        self.models: dict[str, ModelEntry] = {m.id: m for m in models}
        self.families: dict[str, Family] = {f.id: f for f in families}
        self.voice_catalogs: dict[str, VoiceCatalog] = {v.id: v for v in voice_catalogs}
        self._voices: dict[str, dict[str, Voice]] = {
            c.id: {v.id: v for v in c.voices} for c in self.voice_catalogs.values()
        }
        # Agents often change case ("flux-2-2k", "z-image"); ids are unique case-insensitively.
        self._folded: dict[str, str] = {}
        for name in [*self.models, *self.families]:
            self._folded.setdefault(name.casefold(), name)

    def __len__(self) -> int:
        return len(self.models)

    def resolve(self, name: str) -> ModelEntry:
        """Return the model for ``name`` or raise ``unknown_model`` / ``variant_required``."""
        entry = self.models.get(name)
        if entry is not None:
            return entry
        canonical = self._folded.get(name.strip().casefold())
        if canonical is not None and canonical in self.models:
            return self.models[canonical]
        family = self.families.get(canonical or name)
        if family is not None:
            raise MediagateError(
                "variant_required",
                f"{family.id!r} is a model family; pass one of its concrete variants as model.",
                family=family.id,
                available_variants=list(family.variants),
                hint=family.hint,
            )
        raise MediagateError(
            "unknown_model",
            f"Unknown model {name!r}.",
            got=name,
            suggestions=self.suggest(name),
            hint="Call get_models to list the available model ids.",
        )

    def suggest(self, name: str, limit: int = 5) -> list[str]:
        """Model ids and family labels closest to ``name``, best first."""
        from rapidfuzz import fuzz, process, utils

        choices = [*self.models, *self.families]
        found = process.extract(
            name,
            choices,
            # Plain edit-distance ratio: partial-match scorers rank short ids like
            # "flux-2" high for any name containing "-2".
            scorer=fuzz.ratio,
            processor=utils.default_process,
            limit=limit,
            score_cutoff=55,
        )
        return [choice for choice, _score, _idx in found]

    def voices(self, catalog_id: str) -> dict[str, Voice]:
        """The voices of one voice catalog, by id."""
        return self._voices[catalog_id]
