"""granian with the Procfile's settings (server.py) serving bench/serve_app.py.

    python bench/serve_worker.py      ($PORT, $WEB_CONCURRENCY, $PAPERFEED_CONFIG as server.py)

The app is built in each worker, after the fork, as server.py builds app:app."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def load(ready: Any = None) -> Any:
    from bench.serve_app import app

    if ready is not None:
        ready.set()
    return app


if __name__ == "__main__":
    import server

    server.main(load)
