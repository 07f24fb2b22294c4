"""The embedded local provider: makes real media offline so mediagate works without an API key."""
