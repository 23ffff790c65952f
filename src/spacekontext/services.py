"""The service container: one per app instance, built in the lifespan from settings.

Routes reach it through `ServicesDep`; tests build it around a database bound to a rolled-back
transaction."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from spacekontext.auth.clerk import ClerkBackend
from spacekontext.auth.session import SessionPolicy
from spacekontext.auth.tokens import CompositeVerifier, DevTokens, JwksVerifier
from spacekontext.cache.aside import CacheAside
from spacekontext.cache.factory import build_cache
from spacekontext.cache.metrics import ThrottledWarning
from spacekontext.cache.positions import RedisPositions
from spacekontext.cache.readahead import ReadAhead
from spacekontext.cache.redis import RedisCache, redis_client
from spacekontext.cache.resp import RespClient
from spacekontext.cadblocks.service import CadBlockService
from spacekontext.db.engine import Database
from spacekontext.db.urls import libpq_dsn
from spacekontext.dxf.service import FloorplanDxfService
from spacekontext.files.service import FileService
from spacekontext.floorplans.service import FloorplanService
from spacekontext.jobs.service import JobWorker
from spacekontext.massings.service import MassingService
from spacekontext.models3d.service import Model3DService
from spacekontext.projects.service import ProjectService
from spacekontext.ratelimit.buckets import RedisBuckets
from spacekontext.ratelimit.limiter import RateLimiter, limits_from
from spacekontext.search.service import SearchService
from spacekontext.settings import Settings
from spacekontext.site.service import SiteService
from spacekontext.storage.base import ObjectStore
from spacekontext.storage.factory import build_object_store
from spacekontext.users.directory import UserDirectory
from spacekontext.users.service import CurrentUserInfo, UserService
from spacekontext.webhooks.service import ClerkWebhookService


@dataclass
class Services:
    settings: Settings
    db: Database
    verifier: CompositeVerifier
    sessions: SessionPolicy
    users: UserService
    projects: ProjectService
    webhooks: ClerkWebhookService
    floorplans: FloorplanService
    models3d: Model3DService
    massings: MassingService
    site: SiteService
    store: ObjectStore
    files: FileService
    worker: JobWorker
    search: SearchService
    cadblocks: CadBlockService
    dxf: FloorplanDxfService
    cache: CacheAside
    limiter: RateLimiter
    redis: RespClient | None = None
    read_ahead: ReadAhead | None = None
    clerk: ClerkBackend | None = None

    def start(self) -> None:
        """Background work of the process's own (in the lifespan, once the database is up)."""
        if self.users.directory is not None:
            self.users.directory.start()

    async def aclose(self) -> None:
        if self.users.directory is not None:
            await self.users.directory.aclose()
        await self.verifier.aclose()
        if self.clerk is not None:
            await self.clerk.aclose()
        await self.store.aclose()
        await self.cache.aclose()
        if self.redis is not None:
            await self.redis.aclose()


def build_verifier(settings: Settings) -> CompositeVerifier:
    leeway_s = settings.auth_clock_skew_s
    dev = (
        DevTokens.from_data_dir(settings.data_dir, leeway_s=leeway_s)
        if settings.dev_tokens_enabled
        else None
    )
    jwks = None
    if settings.auth_jwks_url:
        if not settings.auth_issuer:
            raise ValueError("AUTH_ISSUER is required with AUTH_JWKS_URL")
        jwks = JwksVerifier(
            settings.auth_jwks_url,
            issuer=settings.auth_issuer,
            audience=settings.auth_audience,
            leeway_s=leeway_s,
            authorized_parties=settings.authorized_parties,
        )
    return CompositeVerifier(dev, jwks)


def build_session_policy(settings: Settings) -> SessionPolicy:
    return SessionPolicy(
        publishable_key=settings.clerk_publishable_key,
        browser_origins=settings.browser_origins,
    )


def build_worker(
    settings: Settings, db: Database, files: FileService, dxf: FloorplanDxfService
) -> JobWorker:
    return JobWorker(
        db,
        {**files.handlers(), **dxf.handlers()},
        poll_interval_s=settings.jobs_poll_interval_s,
        # Stale direct uploads are swept every ten minutes by whichever worker gets there.
        periodic=[(600.0, files.sweep_pending)],
    )


def build_user_directory(settings: Settings) -> UserDirectory[CurrentUserInfo] | None:
    """The process's own copy of user rows, where it can listen for their changes."""
    url = settings.listen_url
    if url is None:
        return None
    return UserDirectory(libpq_dsn(url), ttl_s=settings.user_directory_ttl_s)


def build_services(
    settings: Settings, db: Database, *, store: ObjectStore | None = None
) -> Services:
    store = store or build_object_store(settings)
    files = FileService(db, store, settings)
    floorplans = FloorplanService(db, settings)
    dxf = FloorplanDxfService(db, floorplans, settings, store)
    # One Redis client (one pipelined connection) for the cache and the rate limits; one warning
    # throttle, so an outage logs one line a minute, not one per feature.
    redis = (
        redis_client(settings.redis_url, timeout_s=settings.redis_timeout_s)
        if settings.redis_url
        else None
    )
    warning = ThrottledWarning()
    cache = build_cache(settings, redis=redis, warning=warning)
    responses = cache if settings.cache_responses else cache.bumps_only()
    if redis is not None:
        # Read-your-writes across workers: the write positions go where every worker sees them.
        db.router.use_positions(
            RedisPositions(
                redis,
                ttl_s=db.router.position_ttl_s,
                prefix=settings.cache_key_prefix,
                warning=warning,
            )
        )
    buckets = RedisBuckets(redis, prefix=settings.cache_key_prefix) if redis else None
    limiter = RateLimiter(
        limits_from(settings), shared=buckets, enabled=settings.rate_limit_enabled, warning=warning
    )
    # With the cache in Redis, a request's user record, bucket and cached page are read in
    # one round trip (cache/readahead.py).
    shared_cache = cache.cache if isinstance(cache.cache, RedisCache) else None
    read_ahead = ReadAhead(shared_cache, buckets) if shared_cache is not None else None
    clerk = (
        ClerkBackend(settings.clerk_api_url, settings.clerk_secret_key)
        if settings.clerk_secret_key
        else None
    )
    return Services(
        settings=settings,
        db=db,
        verifier=build_verifier(settings),
        sessions=build_session_policy(settings),
        users=UserService(db, cache, clerk, directory=build_user_directory(settings)),
        projects=ProjectService(
            db,
            responses,
            late_sweep_delay_s=settings.signed_url_ttl_s + 300,
            full_lists=settings.profile == "naive",
        ),
        webhooks=ClerkWebhookService(db, settings.clerk_webhook_secret, cache),
        floorplans=floorplans,
        models3d=Model3DService(db, settings),
        massings=MassingService(db, settings),
        site=SiteService(db),
        store=store,
        files=files,
        worker=build_worker(settings, db, files, dxf),
        search=SearchService(db),
        cadblocks=CadBlockService(db, store, responses),
        dxf=dxf,
        cache=cache,
        limiter=limiter,
        redis=redis,
        read_ahead=read_ahead,
        clerk=clerk,
    )


async def get_services(request: Request) -> Services:
    # async on purpose: FastAPI runs a plain `def` dependency in a thread pool, which costs
    # more than the rest of a cached request.
    services: Services = request.app.state.services
    return services
