"""`spacekontext backup` and `spacekontext restore`: the database (pg_dump, custom format) and
every stored object, with a manifest of keys, sizes and hashes, to a directory or a bucket; and
back into an empty database and object store, verified (docs/backups.md)."""
