"""The service container: one per app instance, built in the lifespan from settings.

Routes reach it through `ServicesDep`; tests build it around a database bound to a rolled-back
transaction."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from spacekontext.auth.tokens import CompositeVerifier, DevTokens, JwksVerifier
from spacekontext.db.engine import Database
from spacekontext.floorplans.service import FloorplanService
from spacekontext.massings.service import MassingService
from spacekontext.models3d.service import Model3DService
from spacekontext.projects.service import ProjectService
from spacekontext.settings import Settings
from spacekontext.site.service import SiteService
from spacekontext.users.service import UserService
from spacekontext.webhooks.service import ClerkWebhookService


@dataclass
class Services:
    settings: Settings
    db: Database
    verifier: CompositeVerifier
    users: UserService
    projects: ProjectService
    webhooks: ClerkWebhookService
    floorplans: FloorplanService
    models3d: Model3DService
    massings: MassingService
    site: SiteService

    async def aclose(self) -> None:
        await self.verifier.aclose()


def build_verifier(settings: Settings) -> CompositeVerifier:
    dev = DevTokens.from_data_dir(settings.data_dir) if settings.dev_tokens_enabled else None
    jwks = None
    if settings.auth_jwks_url:
        if not settings.auth_issuer:
            raise ValueError("AUTH_ISSUER is required with AUTH_JWKS_URL")
        jwks = JwksVerifier(
            settings.auth_jwks_url, issuer=settings.auth_issuer, audience=settings.auth_audience
        )
    return CompositeVerifier(dev, jwks)


def build_services(settings: Settings, db: Database) -> Services:
    return Services(
        settings=settings,
        db=db,
        verifier=build_verifier(settings),
        users=UserService(db),
        projects=ProjectService(db),
        webhooks=ClerkWebhookService(db, settings.clerk_webhook_secret),
        floorplans=FloorplanService(db, settings),
        models3d=Model3DService(db, settings),
        massings=MassingService(db, settings),
        site=SiteService(db),
    )


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services
