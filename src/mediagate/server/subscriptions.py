"""Push updates for ``mediagate://generations/{id}``: every persisted change of a generation
sends ``notifications/resources/updated`` to the clients that subscribed to it.

Two eras, one feed (the job runner's listener):

* handshake era (2025): ``resources/subscribe`` / ``resources/unsubscribe`` requests. The SDK
  serves neither, so they are lowlevel handlers; a subscriber is remembered until it
  unsubscribes or the generation reaches a terminal state (its last update is sent first).
* 2026-07-28: ``subscriptions/listen`` streams, served by the SDK from the server's bus; each
  change is published there as ``ResourceUpdated``.

The runner exists only once the services have started, so the listener is attached on the
first request that needs it (a subscribe, or a listen stream), not at start-up.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any

import mcp_types as types
from mcp.server.subscriptions import ResourceUpdated
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

if TYPE_CHECKING:
    from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
    from mcp.server.mcpserver import MCPServer
    from mcp.server.session import ServerSession
    from mcp.server.subscriptions import SubscriptionBus

    from mediagate.jobs.model import Generation
    from mediagate.jobs.runner import JobRunner
    from mediagate.server.services import Services

log = logging.getLogger(__name__)

GENERATION_URI_PREFIX = "mediagate://generations/"
_GENERATION_URI = re.compile(r"^mediagate://generations/(gen_[0-9A-Z]{26})$")


def generation_uri(generation_id: str) -> str:
    """The resource URI of a generation."""
    return GENERATION_URI_PREFIX + generation_id


class GenerationSubscriptions:
    """Who wants to hear about which generation, and the delivery of each change."""

    def __init__(self, services: Services, bus: SubscriptionBus | None) -> None:
        self._services = services
        self._bus = bus
        #: uri -> {connection key: a session on that connection}
        self._subscribers: dict[str, dict[int, ServerSession]] = {}
        self._attached: JobRunner | None = None
        self._deliveries: set[asyncio.Task[None]] = set()

    def install(self, server: MCPServer[Any]) -> None:
        """Serve ``resources/subscribe``/``unsubscribe`` and watch for listen streams."""
        # No public API registers these (MCPServer serves neither); the private lowlevel server
        # is pinned by tests/server/test_subscriptions.py.
        lowlevel = server._lowlevel_server
        lowlevel.add_request_handler(
            "resources/subscribe", types.SubscribeRequestParams, self._subscribe
        )
        lowlevel.add_request_handler(
            "resources/unsubscribe", types.UnsubscribeRequestParams, self._unsubscribe
        )
        server.middleware.append(self._watch_listen)

    def subscriber_count(self, uri: str) -> int:
        """How many connections are subscribed to ``uri`` (handshake era)."""
        return len(self._subscribers.get(uri, {}))

    async def attach(self) -> None:
        """Listen to the job runner (once per runner; waits for the services to start)."""
        runner = await self._services.job_runner()
        if self._attached is not runner:
            self._attached = runner
            runner.add_listener(self._changed)

    # --- requests -------------------------------------------------------------------------------

    async def _subscribe(
        self, ctx: ServerRequestContext[Any, Any], params: types.SubscribeRequestParams
    ) -> types.EmptyResult:
        uri = str(params.uri)
        generation_id = _generation_id(uri)
        await self.attach()
        # Registered before the lookup, so a change racing this request is never missed.
        watchers = self._subscribers.setdefault(uri, {})
        watchers[_connection_key(ctx.session)] = ctx.session
        gen = await self._lookup(uri, generation_id)
        if gen is None or gen.is_terminal:
            # Unknown, or final already: nothing will ever change.
            watchers.pop(_connection_key(ctx.session), None)
            if not watchers:
                self._subscribers.pop(uri, None)
            if gen is None:
                raise MCPError(
                    code=INVALID_PARAMS,
                    message=f"No generation {generation_id!r}.",
                    data={"uri": uri},
                )
        return types.EmptyResult()

    async def _unsubscribe(
        self, ctx: ServerRequestContext[Any, Any], params: types.UnsubscribeRequestParams
    ) -> types.EmptyResult:
        uri = str(params.uri)
        watchers = self._subscribers.get(uri)
        if watchers is not None:
            watchers.pop(_connection_key(ctx.session), None)
            if not watchers:
                self._subscribers.pop(uri, None)
        return types.EmptyResult()

    async def _watch_listen(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        if ctx.method == "subscriptions/listen" and ctx.request_id is not None:
            try:
                await self.attach()
            except RuntimeError:
                # Services failed to start: the stream still serves list-changed events.
                log.warning("generation updates unavailable: services did not start")
        return await call_next(ctx)

    async def _lookup(self, uri: str, generation_id: str) -> Generation | None:
        from mediagate.errors import MediagateError

        store = await self._services.job_store()
        try:
            return await store.get(generation_id)
        except MediagateError:
            return None

    # --- delivery -------------------------------------------------------------------------------

    def _changed(self, gen: Generation) -> None:
        """Runner listener (synchronous, on the event loop): schedule this change's updates."""
        uri = generation_uri(gen.id)
        watchers = self._subscribers.get(uri, {})
        targets = list(watchers.values())
        if gen.is_terminal:
            self._subscribers.pop(uri, None)  # the last update of this generation
        if not targets and self._bus is None:
            return
        task = asyncio.get_running_loop().create_task(self._deliver(uri, targets))
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    async def _deliver(self, uri: str, targets: list[ServerSession]) -> None:
        for session in targets:
            try:
                await session.send_resource_updated(uri)
            except Exception:
                log.debug("resource update for %s not delivered", uri, exc_info=True)
        if self._bus is not None:
            await self._bus.publish(ResourceUpdated(uri=uri))


def _generation_id(uri: str) -> str:
    match = _GENERATION_URI.fullmatch(uri)
    if match is None:
        raise MCPError(
            code=INVALID_PARAMS,
            message=(
                f"Cannot subscribe to {uri!r}: only generations "
                "(mediagate://generations/{id}) change."
            ),
            data={"uri": uri},
        )
    return match.group(1)


def _connection_key(session: ServerSession) -> int:
    """One key per client connection: the SDK builds a new session object per request."""
    # The connection behind a session has no public accessor; pinned by the unsubscribe test.
    return id(getattr(session, "_connection", session))
