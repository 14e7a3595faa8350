"""Test settings: the real settings, with a throwaway data folder and a fast hasher.

DATABASE_URL and CELERY_BROKER_URL still choose PostgreSQL and Redis, so CI runs the
suite against the real services.
"""

import os
import tempfile

os.environ.setdefault("POVERTYEXIT_DATA_DIR", tempfile.mkdtemp(prefix="povertyexit-test-"))

from povertyexit.settings import *  # noqa: E402,F403

# Hashing strength is not under test; MD5 keeps thousands of logins fast.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
RUN_SCANS_AT_WORKER_START = False  # tests start workers for one task at a time

# No read replica, whatever the environment says: its alias would be a database that no
# test declared. tests/core/test_replica.py adds one for its own tests only.
DATABASES.pop("replica", None)  # noqa: F405
DATABASE_ROUTERS = []
MIDDLEWARE = [name for name in MIDDLEWARE if name != "core.replica.ReplicaReadsMiddleware"]  # noqa: F405
