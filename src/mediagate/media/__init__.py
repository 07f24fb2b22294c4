"""Media files: the store that keeps outputs, and (later) safe fetching, probing and trimming."""
