"""`spacekontext assess`: the scalability assessment, produced live from the catalog and the
statistics of any PostgreSQL database (see docs/assess.md)."""

from spacekontext.tools.assess.model import AppShape, Finding, Report, Severity, Thresholds
from spacekontext.tools.assess.render import to_json, to_markdown
from spacekontext.tools.assess.runner import app_shape, assess

__all__ = [
    "AppShape",
    "Finding",
    "Report",
    "Severity",
    "Thresholds",
    "app_shape",
    "assess",
    "to_json",
    "to_markdown",
]
