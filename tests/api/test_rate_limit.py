"""Each token has its own rate limit; past it, a JSON 429 with Retry-After (issue G8)."""

from __future__ import annotations

from .conftest import build_world


def test_a_token_past_its_limit_gets_429_with_retry_after_and_others_do_not(make_app):
    world = build_world(make_app(API_RATE_LIMIT="3/minute"))
    client = world.client()
    statuses = [
        client.get("/api/v1/procedures", headers=world.headers("rw")).status_code for _ in range(3)
    ]
    assert statuses == [200, 200, 200]
    limited = client.get("/api/v1/procedures", headers=world.headers("rw"))
    assert limited.status_code == 429
    assert limited.json["code"] == "rate_limited"
    assert 0 < int(limited.headers["Retry-After"]) <= 60
    # another token, and requests without one, are counted apart
    assert client.get("/api/v1/procedures", headers=world.headers("ro")).status_code == 200
    assert client.get("/api/v1/procedures").status_code == 401
