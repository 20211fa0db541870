"""The rule language, with no Flask and no SQL: analysis (a paper as words and stems), query
(Lucene syntax -> nodes that match, explain and describe themselves), matcher (many topics
at once), and search (the one place that finds the papers a query matches)."""
