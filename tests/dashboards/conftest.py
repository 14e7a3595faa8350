from tests.exits.conftest import campaign, certifiers, clock  # noqa: F401 - shared fixtures
