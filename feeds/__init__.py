"""HTTP only: feed, search, page and OPML routes, ops routes, the per-process service,
rendering (feedgen, JSON Feed, OPML), the byte-bounded cache and conditional requests."""
