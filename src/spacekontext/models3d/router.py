from __future__ import annotations

from spacekontext.http.document_routes import DocumentKind, document_router
from spacekontext.models3d.schemas import Model3DCreate, Model3DPatch, Model3DReplace

router = document_router(
    DocumentKind(
        collection="models3d",
        name="model3d",
        data_key="modelData",
        id_param="model_id",
        noun="3D model",
        plural="3D models",
        create=Model3DCreate,
        replace=Model3DReplace,
        patch=Model3DPatch,
        service=lambda services: services.models3d,
        route_names=("model", "models"),
    )
)
