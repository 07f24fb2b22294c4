"""``python -m mediagate`` runs the ``mediagate`` command."""

from mediagate.cli import main

raise SystemExit(main())
