"""Rules in, feeds out: the query language, matching, rendering and the web routes."""
