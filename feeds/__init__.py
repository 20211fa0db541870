"""Feed rendering, pure: papers and what a feed says about itself in, bytes out (RSS 2.0,
Atom 1.0, JSON Feed 1.1, OPML). No HTTP, no clock, no database."""
