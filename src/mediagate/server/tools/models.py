"""get_models and list_voices: the catalog, as agents need to see it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult
from pydantic import BaseModel, ConfigDict, Field

from mediagate.server.results import tool_result
from mediagate.server.services import Services


class ModelList(BaseModel):
    """Models matching the filters: compact rows, or full limit tables with detail."""

    model_config = ConfigDict(extra="forbid")
    count: int
    models: list[dict[str, Any]]
    families: list[dict[str, Any]] = Field(
        default_factory=list, description="Family labels that need a concrete variant."
    )
    hint: str | None = None


class VoiceList(BaseModel):
    """Voice catalogs (voice_id values) and the models that use them."""

    model_config = ConfigDict(extra="forbid")
    catalogs: list[dict[str, Any]]


def register(services: Services) -> Any:
    """The registrar for the catalog tools, closed over ``services``."""

    def registrar(server: MCPServer[Any]) -> None:
        @server.tool()
        async def get_models(
            model: str | None = None,
            media_type: Literal["image", "video", "3d"] | None = None,
            generation_type: str | None = None,
            family: str | None = None,
            provider: str | None = None,
            search: str | None = None,
            detail: bool = Field(False, description="Full limit tables for every match"),
        ) -> Annotated[CallToolResult, ModelList]:
            """List models with price, time, options and the providers serving each id.
            Pass model=<id> or provider/id (or detail=true) for the full limit table:
            inputs, durations, aspect ratios, tiers, voices, native params."""
            from mediagate.catalog.present import detail as model_detail
            from mediagate.catalog.present import rows_of

            catalog = services.catalog
            if provider is not None:
                provider = services.resolve_provider(provider)
            if model is not None:
                entry = catalog.resolve(model, provider)
                one = model_detail(
                    entry, catalog.providers_of(entry.id), name=catalog.name_of(entry)
                )
                live = services.live_status(entry)
                if live is not None:
                    one["live"] = live
                return tool_result(ModelList(count=1, models=[one]))
            rows = rows_of(
                catalog,
                detailed=detail,
                media_type=media_type,
                generation_type=generation_type,
                family=family,
                search=search,
                provider=provider,
            )
            fams = [
                {"family": f.id, "variants": list(f.variants)}
                for f in catalog.families.values()
                if (family is None or f.id == family)
                and (
                    provider in (None, "local")
                    or any(provider in catalog.providers_of(v) for v in f.variants)
                )
            ]
            hint = None if detail else "get_models(model=<id>) shows one model's full limits."
            # Through tool_result (None fields omitted): the listed output schema is compacted
            # to plain types, so a null "hint" made validating clients reject the result.
            return tool_result(
                ModelList(
                    count=len(rows),
                    models=rows,
                    families=fams if media_type in (None, "video") else [],
                    hint=hint,
                )
            )

        @server.tool()
        async def list_voices(model: str | None = None, search: str | None = None) -> VoiceList:
            """Voices for voice_id (Gemini Omni Video's prebuilt voices): id, label, gender,
            style. Filter by model or a search word such as 'warm' or 'female'."""
            from mediagate.catalog.present import voices_of

            return VoiceList(catalogs=voices_of(services.catalog, model=model, search=search))

    return registrar
