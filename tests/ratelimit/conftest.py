from tests.cache.conftest import key_prefix, private_redis, redis_url

__all__ = ["key_prefix", "private_redis", "redis_url"]
