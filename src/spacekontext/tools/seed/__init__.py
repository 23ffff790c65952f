"""`spacekontext seed`: a realistic, reproducible data set of any size, written with COPY.

`documents` makes the content (deterministic per seed and row index), `writer` derives the
metadata columns through the services' own derivations and streams rows into PostgreSQL."""
