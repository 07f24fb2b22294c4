"""The loaded catalog: models, family labels and voices, indexed for fast lookup.

Entries are unique per ``(provider, id)``. Several providers may serve one model id with
different limits (Kubeez's ``gpt-image-2`` is not GateAI's), so a model is named either bare
(``gpt-image-2``: the *primary* entry, the first provider in ``PROVIDERS`` order that serves the
id) or qualified (``gateai/gpt-image-2``); a ``provider`` argument is equivalent to the prefix.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from mediagate.catalog.schema import PROVIDERS, Family, ModelEntry, Voice, VoiceCatalog
from mediagate.errors import MediagateError

if TYPE_CHECKING:
    from mediagate.catalog.request import GenerationRequest

#: The embedded offline renderer: it can stand in for any entry, so naming it as the provider
#: never conflicts with a ``provider/`` prefix and selects no particular entry.
LOCAL = "local"
_HINT = "Call get_models to list the available model ids."


class Catalog:
    """Every model the server knows, by id and provider, with family labels and voices."""

    def __init__(
        self,
        *,
        models: Iterable[ModelEntry],
        families: Iterable[Family],
        voice_catalogs: Iterable[VoiceCatalog],
    ) -> None:
        rank = {p: i for i, p in enumerate(PROVIDERS)}
        ordered = sorted(models, key=lambda m: rank.get(m.provider, len(rank)))
        #: Every entry, by ``provider/id``.
        self.entries: dict[str, ModelEntry] = {m.key: m for m in ordered}
        #: The primary entry of each model id (what a bare id means).
        self.models: dict[str, ModelEntry] = {}
        # Agents often change case ("flux-2-2k", "z-image"); ids are unique case-insensitively
        # within a provider.
        self._by_id: dict[str, dict[str, ModelEntry]] = {}
        for m in ordered:
            self.models.setdefault(m.id, m)
            self._by_id.setdefault(m.id.casefold(), {}).setdefault(m.provider, m)
        #: Providers with entries, in precedence order.
        self.providers: tuple[str, ...] = tuple(
            p for p in PROVIDERS if any(m.provider == p for m in ordered)
        )
        self.families: dict[str, Family] = {f.id: f for f in families}
        self.voice_catalogs: dict[str, VoiceCatalog] = {v.id: v for v in voice_catalogs}
        self._voices: dict[str, dict[str, Voice]] = {
            c.id: {v.id: v for v in c.voices} for c in self.voice_catalogs.values()
        }
        self._folded_families = {f.casefold(): f for f in self.families}

    def __len__(self) -> int:
        return len(self.entries)

    # --- identity ---------------------------------------------------------------------------

    def is_primary(self, entry: ModelEntry) -> bool:
        """Whether a bare ``entry.id`` means this entry."""
        return self.models.get(entry.id) is entry

    def name_of(self, entry: ModelEntry) -> str:
        """The shortest name that resolves to ``entry``: its id, or ``provider/id``."""
        return entry.id if self.is_primary(entry) else entry.key

    def providers_of(self, model_id: str) -> list[str]:
        """Providers that serve ``model_id``, primary first."""
        return list(self._by_id.get(model_id.casefold(), {}))

    def entry(self, model_id: str, provider: str | None = None) -> ModelEntry:
        """The entry for an exact id (and provider); ``KeyError`` when there is none.

        ``provider`` ``None`` (or ``local``) means the primary entry.
        """
        if provider is None or provider == LOCAL:
            return self.models[model_id]
        return self.entries[f"{provider}/{model_id}"]

    def entry_of(self, request: GenerationRequest) -> ModelEntry:
        """The entry a validated request was checked against."""
        return self.entry(request.model, request.provider)

    # --- names agents send ------------------------------------------------------------------

    def resolve(self, name: str, provider: str | None = None) -> ModelEntry:
        """The entry for ``name`` (``id`` or ``provider/id``) and an optional ``provider``.

        Raises ``unknown_model`` (with suggestions), ``variant_required`` for a family label,
        or ``invalid_arguments`` when the prefix and ``provider`` disagree.
        """
        if provider is None:
            entry = self.models.get(name)
            if entry is not None:
                return entry  # the hot path: an exact bare id
        wanted = None if provider is None or provider == LOCAL else provider
        model_id = name.strip()
        if "/" in model_id:
            prefix, _, rest = model_id.partition("/")
            prefix = prefix.strip()
            if wanted is not None and wanted.casefold() != prefix.casefold():
                raise MediagateError(
                    "invalid_arguments",
                    f"model names provider {prefix!r} but provider is {provider!r}.",
                    field="provider",
                    got=provider,
                    hint=f"Drop provider, or name the model {provider}/{rest.strip()}.",
                )
            wanted = None if prefix.casefold() == LOCAL else prefix
            model_id = rest.strip()
        if wanted is not None:
            folded = wanted.casefold()
            known = next((p for p in self.providers if p == folded), None)
            if known is None:
                where = f" in {name!r}" if "/" in name else ""
                raise MediagateError(
                    "unknown_model",
                    f"Unknown provider {wanted!r}{where}; the catalog's providers are "
                    f"{', '.join(self.providers)}.",
                    got=name,
                    suggestions=self.suggest(model_id),
                    hint=_HINT,
                )
            wanted = known
        served = self._by_id.get(model_id.casefold())
        if served:
            if wanted is None:
                return self.models[next(iter(served.values())).id]
            if wanted in served:
                return served[wanted]
            raise MediagateError(
                "unknown_model",
                f"{wanted} does not serve {model_id!r}; {', '.join(served)} does.",
                got=name,
                suggestions=self._dedupe(
                    [self.name_of(e) for e in served.values()] + self.suggest(model_id, wanted)
                ),
                hint=_HINT,
            )
        family = self.families.get(self._folded_families.get(model_id.casefold(), model_id))
        if family is not None and (
            wanted is None
            or any(wanted in self._by_id.get(v.casefold(), {}) for v in family.variants)
        ):
            raise MediagateError(
                "variant_required",
                f"{family.id!r} is a model family; pass one of its concrete variants as model.",
                family=family.id,
                available_variants=list(family.variants),
                hint=family.hint,
            )
        raise MediagateError(
            "unknown_model",
            f"Unknown model {name!r}."
            if wanted is None
            else f"{wanted} has no model {model_id!r}.",
            got=name,
            suggestions=self.suggest(model_id, wanted),
            hint=_HINT,
        )

    def suggest(self, name: str, provider: str | None = None, limit: int = 5) -> list[str]:
        """Names closest to ``name``, best first, each as it resolves (``gateai/…`` where the
        bare id means another provider's entry). With ``provider``, only its models."""
        from rapidfuzz import fuzz, process, utils
        from rapidfuzz.distance import Levenshtein

        if provider is None:
            choices = [*self.models, *self.families]
        else:
            choices = [e.id for e in self.entries.values() if e.provider == provider]
        found = process.extract(
            name,
            choices,
            # Plain edit-distance ratio: partial-match scorers rank short ids like
            # "flux-2" high for any name containing "-2".
            scorer=fuzz.ratio,
            processor=utils.default_process,
            limit=limit + 5,
            score_cutoff=55,
        )
        # Ties after punctuation is stripped ("seedance-1.-pro": 1-5-pro or 1.0-pro?) go to
        # the smaller edit distance on the names as written.
        folded = name.casefold()
        found.sort(key=lambda f: (-f[1], Levenshtein.distance(folded, f[0].casefold())))
        out: list[str] = []
        for choice, _score, _idx in found[:limit]:
            served = self._by_id.get(choice.casefold())
            if not served:
                out.append(choice)  # a family label
            elif provider is not None:
                out.append(self.name_of(served[provider]))
            else:
                # The bare id, then the other providers' entries of the same id.
                out.extend(self.name_of(e) for e in served.values())
        return self._dedupe(out)[:limit]

    @staticmethod
    def _dedupe(names: list[str]) -> list[str]:
        return list(dict.fromkeys(names))

    def voices(self, catalog_id: str) -> dict[str, Voice]:
        """The voices of one voice catalog, by id."""
        return self._voices[catalog_id]
