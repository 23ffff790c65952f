"""Service settings, read from the environment and validated once at start.

Every knob has a safe development default so that `spacekontext serve` works with no
configuration at all; `ENV=production` refuses the defaults that are only safe on a laptop
(dev tokens, no JWKS, the embedded database).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    # --- runtime -----------------------------------------------------------------------------
    env: Literal["development", "test", "production"] = "development"
    # The data dir (embedded database, local objects, dev-token secret). Unset: `default_home()`.
    home: Path | None = Field(default=None, validation_alias="SPACEKONTEXT_HOME")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_json: bool = True
    # Serve the hottest GET routes from the edge layer, past FastAPI's router (http/hot.py).
    hot_routes: bool = True
    # "tuned" is the product; "naive" reproduces the assessment's starting point for load tests.
    profile: Literal["tuned", "naive"] = "tuned"

    # --- database ----------------------------------------------------------------------------
    # None means: start the embedded PostgreSQL in `home`.
    database_url: str | None = None
    database_read_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    database_pooler: Literal["none", "pgbouncer"] = "none"
    # The primary itself, past the pooler: for the one session per process that listens for
    # changes to user rows (users/directory.py). Unset, DATABASE_URL serves when it is the
    # primary itself (DATABASE_POOLER=none); behind PgBouncer the directory is then off.
    database_direct_url: str | None = None
    # Serve callers' user rows from the process's own copy while it hears their changes
    # (users/directory.py): one connection per process more, one statement per request less.
    user_directory: bool = True
    user_directory_ttl_s: float = Field(default=300.0, gt=0, le=86_400)
    db_pool_size: int = Field(default=10, ge=1, le=500)
    db_max_overflow: int = Field(default=5, ge=0, le=500)
    # The driver's own pool for the hottest one-statement reads (db/driverpool.py), per process
    # and server, on top of DB_POOL_SIZE + DB_MAX_OVERFLOW in the connection budget.
    db_read_pool_size: int = Field(default=5, ge=1, le=500)
    db_pool_timeout_s: float = Field(default=5.0, gt=0, le=120)
    db_statement_timeout_ms: int = Field(default=15_000, ge=0)
    db_idle_in_transaction_timeout_ms: int = Field(default=30_000, ge=0)
    db_application_name: str = "spacekontext"
    slow_query_ms: float = Field(default=200.0, ge=0)
    max_replica_lag_s: float = Field(default=5.0, gt=0)
    replica_check_interval_s: float = Field(default=0.5, gt=0, le=60)
    # Monthly history partitions created ahead at start (`spacekontext partitions ensure`).
    partition_months_ahead: int = Field(default=3, ge=0, le=120)

    # --- cache -------------------------------------------------------------------------------
    redis_url: str | None = None
    # Every Redis call's bound: a timeout opens the shared circuit breaker like an error does.
    redis_timeout_s: float = Field(default=0.25, gt=0, le=10)
    cache_enabled: bool = True
    # Cache the API's responses (project lists and details, the CAD block library). Off, every
    # such read goes to PostgreSQL while token-subject -> user lookups stay cached: the setting
    # for measuring the database path, or for ruling the response cache out when debugging.
    cache_responses: bool = True
    cache_ttl_s: int = Field(default=300, ge=1)
    cache_memory_max_items: int = Field(default=50_000, ge=1)
    # Keeps deployments (or test runs) sharing one Redis apart.
    cache_key_prefix: str = Field(default="sk:", max_length=64)

    # --- rate limits: per user (per client IP for webhooks); token buckets -------------------
    # `*_per_s` is the sustained rate, `*_burst` how many requests may come at once.
    rate_limit_enabled: bool = True
    rate_limit_read_per_s: float = Field(default=20.0, gt=0)
    rate_limit_read_burst: int = Field(default=100, ge=1)
    rate_limit_write_per_s: float = Field(default=5.0, gt=0)
    rate_limit_write_burst: int = Field(default=30, ge=1)
    rate_limit_upload_per_s: float = Field(default=0.5, gt=0)
    rate_limit_upload_burst: int = Field(default=10, ge=1)
    rate_limit_webhook_per_s: float = Field(default=20.0, gt=0)
    rate_limit_webhook_burst: int = Field(default=100, ge=1)

    # --- object storage ----------------------------------------------------------------------
    storage_backend: Literal["local", "s3"] = "local"
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_bucket: str = "spacekontext"
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    signed_url_ttl_s: int = Field(default=900, ge=1, le=7 * 24 * 3600)
    public_base_url: str | None = None
    # Uploads above one part become S3 multipart uploads; each in-flight upload holds about two
    # parts in memory.
    s3_part_size_bytes: int = Field(default=8 * 1024 * 1024, ge=5 * 1024 * 1024)
    # Pending direct uploads never completed are swept after this long.
    pending_upload_ttl_s: int = Field(default=24 * 3600, ge=60)

    # --- background jobs ---------------------------------------------------------------------
    # The API runs a worker in-process unless production runs `spacekontext worker` instead.
    jobs_in_process: bool = True
    jobs_poll_interval_s: float = Field(default=1.0, gt=0, le=60)

    # --- backups -----------------------------------------------------------------------------
    # Where pg_dump/pg_restore of the server's major version live, when not in a usual place
    # (tools/backup/pgclient.py lists where they are looked for).
    pg_bin_dir: Path | None = None
    # Continuous archiving with pgBackRest (`spacekontext pitr`): the stanza of this database
    # and the configuration file (default: pgBackRest's own, /etc/pgbackrest/pgbackrest.conf).
    pgbackrest_stanza: str = Field(default="spacekontext", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    pgbackrest_config: Path | None = None

    # --- error tracking ----------------------------------------------------------------------
    # Unset: no error tracking. Set: unhandled errors and 5xx answers go to Sentry (scrubbed of
    # tokens, cookies, e-mail addresses and bodies: observability/error_tracking.py).
    sentry_dsn: str | None = None
    # Default: the package version.
    sentry_release: str | None = None
    sentry_environment: str | None = None

    # --- auth --------------------------------------------------------------------------------
    auth_jwks_url: str | None = None
    auth_issuer: str | None = None
    auth_audience: str | None = None
    dev_tokens_enabled: bool = True
    clerk_webhook_secret: str | None = None
    admin_emails: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Tolerated clock difference for a token's `exp`/`nbf`. Clerk session tokens live about
    # 60 s, so the tolerance stays small.
    auth_clock_skew_s: float = Field(default=5.0, ge=0, le=300)
    # The `azp` claims accepted (the origins of the web apps that obtained the token). Empty:
    # the trusted origins below; with those empty too, `azp` is not checked (development).
    auth_authorized_parties: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Clerk's publishable key: names the suffixed session cookie `__session_<suffix>`.
    clerk_publishable_key: str | None = None
    # Clerk's Backend API: users seen for the first time are provisioned from it (their e-mail
    # and names: a session token carries none) when the secret key is set.
    clerk_secret_key: str | None = None
    clerk_api_url: str = "https://api.clerk.com"

    # --- browsers: CORS and CSRF -------------------------------------------------------------
    # Origins allowed to call the API cross-origin with credentials (`https://app.example.com`).
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Further origins trusted for cookie-authenticated writes without CORS (the web app's own
    # origin when it forwards /api/* here and the Host header arrives rewritten).
    trusted_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # --- the web client's other services (compat/) -------------------------------------------
    # An external store holding block DXFs (a public R2 bucket URL, with a path prefix):
    # /api/cad-blocks/dxf?url= fetches only from under it. Our own blocks need no setting.
    cad_blocks_store_url: str | None = None
    cad_block_dxf_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    # PBR texture sets (<Category>/<folder>/ with diffuse, normal, roughness, AO jpgs), served
    # under /Materials/. None: the library is empty.
    materials_dir: Path | None = None
    geometry_max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    # AI renders (KIE.AI's jobs API).
    kie_ai_api_key: str | None = None
    kie_ai_base_url: str = "https://api.kie.ai"
    kie_ai_model: str = "google/nano-banana-edit"
    # Sketchfab: search (no key), OAuth and downloads (client id, secret, redirect URI).
    sketchfab_api_url: str = "https://api.sketchfab.com"
    sketchfab_oauth_url: str = "https://sketchfab.com"
    sketchfab_client_id: str | None = None
    sketchfab_client_secret: str | None = None
    sketchfab_redirect_uri: str | None = None
    sketchfab_search_ttl_s: int = Field(default=600, ge=1)
    sketchfab_max_model_bytes: int = Field(default=100 * 1024 * 1024, ge=1024)
    # Encrypts third-party tokens at rest (a Fernet key: 32 url-safe base64-encoded bytes).
    # Unset, a key is generated into the data dir (development); required in production.
    token_encryption_key: str | None = None
    upstream_timeout_s: float = Field(default=20.0, gt=0, le=300)

    # --- limits ------------------------------------------------------------------------------
    max_json_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    max_document_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    max_upload_bytes: int = Field(default=100 * 1024 * 1024, ge=1024)
    # DXF files up to this size are imported in the request; larger ones by a background job.
    dxf_inline_max_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)

    # --- rooms found from walls (floorplans/rooms.py, docs/rooms.md) ---------------------------
    # Door and window gaps in walls up to this width (metres) are closed to find rooms.
    rooms_max_gap_m: float = Field(default=2.0, ge=0, le=10)
    # Wall ends this close to another wall (metres) join it.
    # --- exposure (http/security.py) ----------------------------------------------------------
    # `Strict-Transport-Security: max-age=N` on responses served over HTTPS (behind a TLS proxy:
    # run uvicorn with --proxy-headers so that the scheme is seen); 0: not sent.
    hsts_max_age_s: int = Field(default=0, ge=0, le=2 * 365 * 24 * 3600)
    # /metrics with ENV=production: a bearer token, or a client address in these networks.
    metrics_token: str | None = Field(default=None, min_length=16)
    metrics_allow_networks: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # `Server-Timing` (database and Redis time per request); off by default in production.
    server_timing: bool | None = None
    rooms_snap_m: float = Field(default=0.05, ge=0, le=1)
    # Enclosed faces with less floor (m², inside the walls) are not rooms.
    rooms_min_area_m2: float = Field(default=0.5, ge=0, le=100)

    @field_validator(
        "database_read_urls",
        "admin_emails",
        "metrics_allow_networks",
        "auth_authorized_parties",
        "cors_origins",
        "trusted_origins",
        mode="before",
    )
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.env != "production":
            return self
        problems = []
        if self.dev_tokens_enabled:
            problems.append("DEV_TOKENS_ENABLED must be false (dev tokens are for laptops)")
        if not self.auth_jwks_url or not self.auth_issuer:
            problems.append("AUTH_JWKS_URL and AUTH_ISSUER are required")
        if not self.database_url:
            problems.append("DATABASE_URL is required (the embedded database is for laptops)")
        if self.profile == "naive":
            problems.append("PROFILE=naive is a load-test baseline, not for production")
        if self.sketchfab_client_id and not self.token_encryption_key:
            problems.append("TOKEN_ENCRYPTION_KEY is required with SKETCHFAB_CLIENT_ID")
        if self.storage_backend == "s3" and not self.s3_bucket:
            problems.append("S3_BUCKET is required with STORAGE_BACKEND=s3")
        if problems:
            raise ValueError("unsafe production settings: " + "; ".join(problems))
        return self

    @field_validator("cors_origins", "trusted_origins", mode="after")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        return [_origin_of_setting(origin) for origin in value]

    @property
    def listen_url(self) -> str | None:
        """Where a process listens for notifications: the primary, never through PgBouncer in
        transaction mode (it would lose the session between transactions); None when there
        is no such URL or the tuned profile's user directory is off."""
        if not self.user_directory or self.profile != "tuned":
            return None
        if self.database_direct_url:
            return self.database_direct_url
        return self.database_url if self.database_pooler == "none" else None

    @property
    def server_timing_enabled(self) -> bool:
        return self.server_timing if self.server_timing is not None else self.env != "production"

    @property
    def data_dir(self) -> Path:
        return (self.home or default_home()).resolve()

    @property
    def data_dir_source(self) -> str:
        """Why the data dir is where it is, in words (printed by `serve` and `status`)."""
        if self.home is not None:
            return "SPACEKONTEXT_HOME"
        return "the checkout" if checkout_root() is not None else "the per-user default"

    @property
    def browser_origins(self) -> frozenset[str]:
        """Origins whose pages may act with the user's session cookie: the CORS origins, the
        trusted origins and the origin of PUBLIC_BASE_URL."""
        origins = set(self.cors_origins) | set(self.trusted_origins)
        if self.public_base_url:
            origins.add(_origin_of_setting(self.public_base_url))
        return frozenset(origins)

    @property
    def authorized_parties(self) -> frozenset[str]:
        """The accepted `azp` claims (empty: not checked)."""
        if self.auth_authorized_parties:
            return frozenset(self.auth_authorized_parties)
        return frozenset(set(self.cors_origins) | set(self.trusted_origins))


def _origin_of_setting(url: str) -> str:
    """`scheme://host[:port]` of a configured URL (its path dropped), lower-cased; anything
    but an http(s) URL with a host is refused."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) origin: {url!r}")
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"  # IPv6
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


def checkout_root() -> Path | None:
    """The source checkout this package runs from (an editable install: `<root>/src/spacekontext`
    beside `<root>/pyproject.toml`), or None for an installed wheel."""
    package = Path(__file__).resolve().parent
    root = package.parent.parent
    if package.parent.name == "src" and (root / "pyproject.toml").is_file():
        return root
    return None


def default_home() -> Path:
    """The data dir when SPACEKONTEXT_HOME is unset: `.spacekontext` at the root of the checkout
    the code runs from, whatever the working directory; for an installed package, the per-user
    data dir (`$XDG_DATA_HOME/spacekontext`, by default `~/.local/share/spacekontext`).
    Decided from where the code is, never from where the command is typed (docs/embedded.md)."""
    root = checkout_root()
    if root is not None:
        return root / ".spacekontext"
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "spacekontext"
