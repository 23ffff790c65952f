from __future__ import annotations

from spacekontext.http.document_routes import DocumentKind, document_router
from spacekontext.massings.schemas import MassingCreate, MassingPatch, MassingReplace

router = document_router(
    DocumentKind(
        "massings",
        "massingData",
        MassingCreate,
        MassingReplace,
        MassingPatch,
        service=lambda services: services.massings,
    )
)
