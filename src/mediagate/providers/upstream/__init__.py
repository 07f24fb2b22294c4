"""Shared machinery for HTTP upstream providers (Kubeez, GateAI): one implementation of
limits, retries, the circuit breaker, reconciliation, polling and output rehosting."""
