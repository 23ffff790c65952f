"""The ground floor: metrics, structured logs and the per-request context (database and Redis
time for `Server-Timing`, the acting user, the read-ahead answers).

Every layer may import this package; it imports nothing of the application (only the standard
library and its own metrics/logging libraries), so that a database or cache module can count and
log without depending on anything above it."""
