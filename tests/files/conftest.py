"""The file API runs over both object stores, with the fixtures of the storage suite
(tests/storage/conftest.py), where they are defined once."""

from tests.storage.conftest import (
    api,
    app_services,
    fetch,
    files_settings,
    local_store,
    moto,
    moto_server,
    s3_store,
    store,
    store_backend,
)

__all__ = [
    "api",
    "app_services",
    "fetch",
    "files_settings",
    "local_store",
    "moto",
    "moto_server",
    "s3_store",
    "store",
    "store_backend",
]
