"""Imports every domain's models so that `Base.metadata` knows the whole schema (Alembic). Here,
beside the migrations, rather than in db/: the database layer sits below the domains and imports
none of them."""

from spacekontext.cadblocks.models import CadBlock
from spacekontext.compat.models import RenderTask, SketchfabToken
from spacekontext.db.base import Base
from spacekontext.files.models import ProjectFile, StoredFile
from spacekontext.floorplans.models import Floorplan, floorplan_versions
from spacekontext.jobs.models import Job
from spacekontext.massings.models import Massing
from spacekontext.models3d.models import Model3D
from spacekontext.projects.models import Project
from spacekontext.site.models import SiteAnalysis
from spacekontext.users.models import User
from spacekontext.webhooks.models import WebhookEvent

__all__ = [
    "Base",
    "CadBlock",
    "Floorplan",
    "Job",
    "Massing",
    "Model3D",
    "Project",
    "ProjectFile",
    "RenderTask",
    "SiteAnalysis",
    "SketchfabToken",
    "StoredFile",
    "User",
    "WebhookEvent",
    "floorplan_versions",
]
