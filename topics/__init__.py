"""The search component, with no Flask and no SQL, bottom up: analysis (text as words and
stems, a paper analysed), plan (the lookup a text index answers), query (Lucene syntax ->
nodes that carry every behaviour of their kind), matcher (many topics at once), search
(the one place that finds the papers a query matches, through any TextIndex), membership
(the one road from a stored paper to its topics), why and hints (a rule in words)."""
