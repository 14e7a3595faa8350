from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_it_generates_a_valid_openapi_schema_without_warnings():
    out = StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    schema = out.getvalue()
    assert "/api/v1/regions/" in schema
    assert "/api/v1/auth/token/" in schema


@pytest.mark.django_db
def test_it_serves_swagger_ui_from_local_assets(client, carol):
    client.force_login(carol)
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn." not in html and "unpkg" not in html
