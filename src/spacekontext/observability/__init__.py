"""Metrics, logs, request context, timing and error tracking: the ground floor."""
