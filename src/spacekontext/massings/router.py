from __future__ import annotations

from spacekontext.http.document_routes import DocumentKind, document_routes
from spacekontext.massings.schemas import MassingCreate, MassingPatch, MassingReplace

router, hot_routes = document_routes(
    DocumentKind(
        "massings",
        "massingData",
        MassingCreate,
        MassingReplace,
        MassingPatch,
        service=lambda services: services.massings,
    )
)
