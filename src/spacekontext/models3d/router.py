from __future__ import annotations

from spacekontext.http.document_routes import DocumentKind, document_routes
from spacekontext.models3d.schemas import Model3DCreate, Model3DPatch, Model3DReplace

router, hot_routes = document_routes(
    DocumentKind(
        "models3d",
        "modelData",
        Model3DCreate,
        Model3DReplace,
        Model3DPatch,
        service=lambda services: services.models3d,
        name="model3d",
        id_param="model_id",
        noun="3D model",
        plural="3D models",
        route_names=("model", "models"),
    )
)
