from __future__ import annotations

from spacekontext.http.document_routes import DocumentKind, document_router
from spacekontext.massings.schemas import MassingCreate, MassingPatch, MassingReplace

router = document_router(
    DocumentKind(
        collection="massings",
        name="massing",
        data_key="massingData",
        id_param="massing_id",
        noun="massing",
        plural="massings",
        create=MassingCreate,
        replace=MassingReplace,
        patch=MassingPatch,
        service=lambda services: services.massings,
    )
)
