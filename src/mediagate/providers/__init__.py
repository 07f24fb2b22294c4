"""Upstream providers, one package each; the local provider renders real files offline."""
