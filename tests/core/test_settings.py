"""Settings come from the environment: safe defaults for development, mandatory secrets in production.

Each case starts a fresh interpreter, because settings are read once at start-up.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management.utils import get_random_secret_key

BASE_DIR = Path(settings.BASE_DIR)

# Variables that configure the project (or that this test process set for itself, such
# as DJANGO_ALLOW_ASYNC_UNSAFE for the browser tests) are removed, so each case sees
# exactly the environment it names.
CONFIG_PREFIXES = ("DJANGO_", "DATABASE_URL", "CELERY_", "POVERTYEXIT_", "AXES_", "ACCESS_LOG_")


def run(args, cwd=BASE_DIR, **env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(CONFIG_PREFIXES)}
    clean["DJANGO_SETTINGS_MODULE"] = "povertyexit.settings"
    clean["PYTHONPATH"] = str(BASE_DIR)
    clean.update(env)
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=clean, capture_output=True, text=True, timeout=120, check=False
    )


def settings_in_fresh_process(expression, **env):
    """``expression`` evaluated against the real settings module in a new interpreter."""
    script = f"import json, django; django.setup(); from django.conf import settings; print(json.dumps({expression}))"
    result = run(["-c", script], **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_it_passes_the_deployment_checklist_in_production(tmp_path):
    result = run(
        [str(BASE_DIR / "manage.py"), "check", "--deploy", "--fail-level", "WARNING"],
        DJANGO_ENV="production",
        DJANGO_SECRET_KEY=get_random_secret_key(),
        DJANGO_ALLOWED_HOSTS="example.org",
        POVERTYEXIT_DATA_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_it_fails_the_checklist_with_the_development_defaults(tmp_path):
    # The check is not vacuous: the development defaults (DEBUG, a known key) fail it.
    result = run(
        [str(BASE_DIR / "manage.py"), "check", "--deploy", "--fail-level", "WARNING"],
        POVERTYEXIT_DATA_DIR=str(tmp_path),
    )
    assert result.returncode != 0
    assert "security.W018" in result.stderr  # DEBUG on
    assert "security.W012" in result.stderr  # session cookie sent over plain HTTP


def test_it_refuses_to_start_in_production_without_a_secret_key(tmp_path):
    result = run(
        [str(BASE_DIR / "manage.py"), "check"],
        DJANGO_ENV="production",
        DJANGO_ALLOWED_HOSTS="example.org",
        POVERTYEXIT_DATA_DIR=str(tmp_path),
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY" in result.stderr.strip().splitlines()[-1]


def test_it_refuses_to_start_in_production_without_allowed_hosts(tmp_path):
    result = run(
        [str(BASE_DIR / "manage.py"), "check"],
        DJANGO_ENV="production",
        DJANGO_SECRET_KEY=get_random_secret_key(),
        POVERTYEXIT_DATA_DIR=str(tmp_path),
    )
    assert result.returncode != 0
    assert "DJANGO_ALLOWED_HOSTS" in result.stderr.strip().splitlines()[-1]


SETTINGS_SEEN = (
    "{'debug': settings.DEBUG, 'database': settings.DATABASES['default'], 'broker': settings.CELERY_BROKER_URL,"
    " 'language': settings.LANGUAGE_CODE, 'time_zone': settings.TIME_ZONE, 'hosts': settings.ALLOWED_HOSTS,"
    " 'secure_cookies': [settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE],"
    " 'hsts': settings.SECURE_HSTS_SECONDS, 'client_ip': settings.AXES_CLIENT_IP_CALLABLE,"
    " 'trusted_proxies': settings.POVERTYEXIT_TRUSTED_PROXIES}"
)


@pytest.fixture(scope="module")
def development(tmp_path_factory):
    """The settings with no variable set at all, as `make run` starts them."""
    return settings_in_fresh_process(SETTINGS_SEEN, cwd=tmp_path_factory.mktemp("cwd"))


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    return settings_in_fresh_process(
        SETTINGS_SEEN,
        DJANGO_ENV="production",
        DJANGO_SECRET_KEY=get_random_secret_key(),
        DJANGO_ALLOWED_HOSTS="example.org,www.example.org",
        POVERTYEXIT_DATA_DIR=str(tmp_path_factory.mktemp("data")),
    )


def test_it_hardens_production(production):
    assert production["debug"] is False
    assert production["secure_cookies"] == [True, True]
    assert production["hsts"] == 60 * 60 * 24 * 365
    assert production["hosts"] == ["example.org", "www.example.org"]


def test_it_trusts_no_proxys_x_forwarded_for_unless_told(production):
    # The login lockout counts by the client's address (core/netaddr.py); believing the
    # header from anyone would let a client pick a fresh address for every guess.
    assert production["client_ip"] == "core.netaddr.client_ip"
    assert production["trusted_proxies"] == []


def test_it_reads_the_trusted_proxies_from_the_environment(tmp_path):
    proxies = settings_in_fresh_process(
        "settings.POVERTYEXIT_TRUSTED_PROXIES",
        POVERTYEXIT_TRUSTED_PROXIES="10.0.0.2,172.16.0.0/12,fd00::/8",
        POVERTYEXIT_DATA_DIR=str(tmp_path),
    )
    assert proxies == ["10.0.0.2", "172.16.0.0/12", "fd00::/8"]


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"POVERTYEXIT_TRUSTED_PROXIES": "10.0.0.2,proxy.internal"}, "POVERTYEXIT_TRUSTED_PROXIES"),
        # One address alone must not be able to lock an account for everyone.
        ({"POVERTYEXIT_ACCOUNT_FAILURE_LIMIT": "5"}, "POVERTYEXIT_ACCOUNT_FAILURE_LIMIT (5) must be greater"),
    ],
)
def test_it_refuses_to_start_with_a_lockout_that_cannot_work(tmp_path, variables, message):
    result = run([str(BASE_DIR / "manage.py"), "check"], POVERTYEXIT_DATA_DIR=str(tmp_path), **variables)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr.strip().splitlines()[-1]


def test_it_defaults_to_sqlite_under_data(development):
    database = development["database"]
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert Path(database["NAME"]) == BASE_DIR / "data" / "db.sqlite3"
    # WAL and IMMEDIATE let the web server, worker and beat share the file.
    assert database["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in database["OPTIONS"]["init_command"]


def test_it_defaults_to_debug_and_the_filesystem_broker(development):
    assert development["debug"] is True
    assert development["broker"] == "filesystem://localhost//"
    assert development["hosts"] == ["127.0.0.1", "localhost", "testserver"]
    assert (development["language"], development["time_zone"]) == ("zh-hans", "Asia/Shanghai")


def test_it_switches_to_postgresql_with_database_url(tmp_path):
    database = settings_in_fresh_process(
        "settings.DATABASES['default']",
        DATABASE_URL="postgres://povertyexit:secret@db.internal:5432/povertyexit",
        POVERTYEXIT_DATA_DIR=str(tmp_path),
    )
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["HOST"], database["NAME"]) == ("db.internal", "povertyexit")
    assert database["CONN_HEALTH_CHECKS"] is True


def test_it_keeps_every_broker_file_under_the_data_folder(tmp_path):
    """The embedded broker writes nothing into the directory a process happens to start in."""
    data = tmp_path / "data"
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    script = (
        "import django; django.setup(); from povertyexit.celery import app; "
        "app.send_task('core.housekeeping'); print('sent')"
    )
    result = run(["-c", script], cwd=cwd, POVERTYEXIT_DATA_DIR=str(data))
    assert result.returncode == 0, result.stderr
    assert len(list((data / "celery-broker" / "queue").iterdir())) == 1
    # kombu keeps its exchange table in `control_folder`, "control" relative to the
    # working directory unless the transport options say otherwise.
    assert list(cwd.iterdir()) == []


def test_it_keeps_the_test_runs_data_out_of_the_projects_data_folder():
    assert Path(settings.DATA_DIR) != BASE_DIR / "data"
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        assert not str(settings.DATABASES["default"]["NAME"]).startswith(str(BASE_DIR / "data"))
    assert not str(settings.DEMO_ACCOUNTS_FILE).startswith(str(BASE_DIR / "data"))


@pytest.mark.parametrize("variable", ["DATABASE_URL", "CELERY_BROKER_URL"])
def test_it_runs_this_suite_against_the_services_it_is_given(variable):
    """When CI points the suite at PostgreSQL and Redis, the settings really use them."""
    if variable not in os.environ:
        pytest.skip(f"{variable} not set: this run uses the embedded default")
    if variable == "DATABASE_URL":
        assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    else:
        assert os.environ["CELERY_BROKER_URL"] == settings.CELERY_BROKER_URL
