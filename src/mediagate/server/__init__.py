"""The MCP layer: server wiring (``app``), transports (``transports``) and tools (``tools``).

Submodules are imported directly (``from mediagate.server.app import build_server``) so that
importing one does not pull in the others' dependencies.
"""
