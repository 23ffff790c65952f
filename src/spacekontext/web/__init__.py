"""The console: server-rendered pages under /app for people (their projects, the block library)
and for operators (/app/ops). Pages read through the domain services, like any router; the
browser's changes go through the API itself (same-origin requests carrying the session cookie),
so the console never has a write path of its own."""
