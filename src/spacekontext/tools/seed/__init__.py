"""`spacekontext seed`: a realistic, reproducible data set of any size, written with COPY.

`documents` makes the content (deterministic per seed and row index), `derive` computes the
metadata columns the services derive on save, `writer` streams rows into PostgreSQL."""
