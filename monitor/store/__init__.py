"""The database edge: engine and migrations (db), tables, and the queries each stage needs."""
