"""The web process: feed, page and ops routes (Flask blueprints), the WSGI fast path for
cached feeds, the per-process Service (cache, render and search slots, database health)
and the search processes beside it. Feed bytes come from feeds/, which knows no HTTP."""
