"""The shared cache: Django's Redis backend, with `clear()` kept to this cache's own keys.

Django's `RedisCache.clear()` is FLUSHDB: on a Redis database shared with the Celery broker it would drop
the queued tasks, and with test workers sharing one database it would wipe the other workers' counters.
Here it deletes only the keys under this cache's KEY_PREFIX (docs/decisions/041-throttles-and-input-limits.md).
"""

import re

from django.core.cache.backends.redis import RedisCache

SCAN_BATCH = 500


class PrefixedRedisCache(RedisCache):
    def clear(self):
        if not self.key_prefix:
            return super().clear()
        client = self._cache.get_client(None, write=True)
        # Keys are "<prefix>:<version>:<key>"; glob characters in the prefix are escaped.
        pattern = re.sub(r"([*?\[\]\\])", r"\\\1", self.key_prefix) + ":*"
        batch = []
        for key in client.scan_iter(match=pattern, count=SCAN_BATCH):
            batch.append(key)
            if len(batch) >= SCAN_BATCH:
                client.delete(*batch)
                batch.clear()
        if batch:
            client.delete(*batch)
        return True
