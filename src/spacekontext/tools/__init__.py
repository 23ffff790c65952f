"""The operator's commands beside cli.py."""
