"""Listings in, store out: fetch (timeouts, retries, conditional GET), locations (what a
source reads), pipeline (lease -> fetch -> parse -> upsert + match -> publish), schedule."""
