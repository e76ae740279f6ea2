"""The platform under everything: real services, production settings, one error shape, health."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.conftest import database_url

ROOT = Path(__file__).resolve().parent.parent


def run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, env=env, timeout=120, check=False)


@pytest.mark.django_db
def test_postgres_has_pgvector_that_builds_hnsw_indexes():
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        (version,) = cursor.fetchone()
        assert tuple(int(p) for p in version.split(".")) >= (0, 8, 4)
        cursor.execute("CREATE TEMP TABLE probe (id serial PRIMARY KEY, v vector(8))")
        cursor.execute(
            "INSERT INTO probe (v) SELECT ARRAY(SELECT random() FROM generate_series(1, 8))::vector(8)"
            " FROM generate_series(1, 500)"
        )
        cursor.execute("CREATE INDEX probe_hnsw ON probe USING hnsw (v vector_cosine_ops)")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN SELECT id FROM probe ORDER BY v <=> '[1,0,0,0,0,0,0,0]' LIMIT 5")
        plan = " ".join(row[0] for row in cursor.fetchall())
        assert "probe_hnsw" in plan
        assert connection.vendor == "postgresql"


def test_redis_is_a_real_server():
    import redis

    info = redis.Redis.from_url(settings.REDIS_URL).info("server")
    assert info["redis_version"]
    assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache")
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels_redis.core.RedisChannelLayer"


def production_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KINO_", "DJANGO_"))}
    env.update(
        KINO_ENV="production",
        DJANGO_SETTINGS_MODULE="config.settings",
        SECRET_KEY="p" * 20 + "r0duct10n-s3cr3t-k3y-w1th-3n0ugh-3ntr0py-!@#$%^&*()",
        JWT_SIGNING_KEY="j" * 20 + "jwt-s1gn1ng-k3y-0f-1ts-0wn-w1th-3n0ugh-3ntr0py-!@#$%",
        TRUSTED_PROXIES="10.0.0.0/8",
        ALLOWED_HOSTS="kino.example.com",
        SITE_URL="https://kino.example.com",
        EMAIL_URL="smtp+tls://mailer:secret@smtp.example.com:587",
        DATABASE_URL=database_url(),
        REDIS_URL=settings.REDIS_URL,
        **production_c2pa(),
    )
    env.update(overrides)
    return env


def production_c2pa() -> dict[str, str]:
    """C2PA credentials as production names them: three paths set (a CA of the test run's own)."""
    from provenance.signing import dev_ca_ensure

    folder = Path(settings.VAR_DIR) / "c2pa-production-test"
    paths = {
        "PROVENANCE_SIGNER_KEY": folder / "signer.key",
        "PROVENANCE_SIGNER_CERTS": folder / "signer-chain.pem",
        "PROVENANCE_TRUST_ANCHORS": folder / "trust-anchors.pem",
    }
    dev_ca_ensure(
        key_path=paths["PROVENANCE_SIGNER_KEY"],
        certs_path=paths["PROVENANCE_SIGNER_CERTS"],
        anchors_path=paths["PROVENANCE_TRUST_ANCHORS"],
    )
    return {name: str(path) for name, path in paths.items()}


def test_production_settings_pass_the_deploy_check_with_zero_warnings():
    result = run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env()
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    "missing",
    ["SECRET_KEY", "JWT_SIGNING_KEY", "ALLOWED_HOSTS", "SITE_URL", "EMAIL_URL", "PROVENANCE_SIGNER_KEY"],
)
def test_production_refuses_to_boot_without_its_secrets(missing):
    env = production_env()
    env.pop(missing)
    result = run([sys.executable, "manage.py", "check"], env)
    assert result.returncode != 0
    assert f"{missing} is not set" in result.stderr


def test_a_short_jwt_signing_key_fails_the_deploy_check():
    result = run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        production_env(JWT_SIGNING_KEY="abc"),
    )
    assert result.returncode != 0
    assert "JWT_SIGNING_KEY must be at least 50 characters" in result.stderr + result.stdout


def test_each_installation_makes_its_own_keys_and_keeps_them(tmp_path):
    def keys(var: Path) -> list[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KINO_")}
        env.update(KINO_VAR_DIR=str(var), DJANGO_SETTINGS_MODULE="config.settings")
        code = "from django.conf import settings as s; print(s.SECRET_KEY); print(s.JWT_SIGNING_KEY)"
        shell = subprocess.run(
            [sys.executable, "-c", f"import django; django.setup(); {code}"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return shell.stdout.split()

    first, second = keys(tmp_path / "one"), keys(tmp_path / "two")
    assert first != second
    assert len(set(first)) == 2  # the JWT key is not the secret key
    assert all(len(key) >= 50 for key in first)
    assert keys(tmp_path / "one") == first  # kept across restarts
    assert oct((tmp_path / "one" / "secret_key").stat().st_mode & 0o777) == "0o600"


def test_import_contracts_hold():
    result = run([str(Path(sys.executable).parent / "lint-imports")])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" in result.stdout
    assert " 0 broken" in result.stdout
    for contract in (
        "other apps use feed only through feed.public (never its models) KEPT",
        "generation: api -> services -> pipeline stages -> engines -> built-in model KEPT",
        "the built-in model stands alone (no Django, no Kino code outside it) KEPT",
        "mediakit is plain media code (no Django, no app) KEPT",
    ):
        assert contract in " ".join(result.stdout.split()), contract


def test_ruff_is_clean():
    result = run([str(Path(sys.executable).parent / "ruff"), "check", "."])
    assert result.returncode == 0, result.stdout


def test_mypy_is_clean():
    result = run([str(Path(sys.executable).parent / "mypy")])
    assert result.returncode == 0, result.stdout


def test_no_function_in_generation_is_longer_than_50_lines():
    import ast

    long = []
    for path in sorted((ROOT / "generation").rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > 50:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines} lines)")
    assert long == []


def test_celery_is_configured_not_to_lose_jobs():
    from config.celery import app

    conf = app.conf
    assert conf.task_acks_late
    assert conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    options = conf.broker_transport_options
    assert options["visibility_timeout"] > conf.task_time_limit
    assert options["unacked_restore_interval"] <= 10
    assert options["unacked_restore_throttle"] == 1
    assert {q.name for q in conf.task_queues} == {"default", "generation", "generation.priority"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        pytest.param("get", "/api/v1/no/such/thing", {}, 404, "not_found", id="unknown-path"),
        pytest.param("delete", "/api/v1/waitlist", {}, 405, "method_not_allowed", id="wrong-method"),
        pytest.param(
            "post",
            "/api/v1/waitlist",
            {"data": "{not json", "content_type": "application/json"},
            400,
            "malformed_request",
            id="malformed-json",
        ),
        pytest.param(
            "post",
            "/api/v1/waitlist",
            {"data": "email=a@b.co", "content_type": "text/plain"},
            415,
            "unsupported_media_type",
            id="unsupported-type",
        ),
        pytest.param(
            "post",
            "/api/v1/waitlist",
            {"data": '["a@b.co"]', "content_type": "application/json"},
            400,
            "invalid_input",
            id="json-list",
        ),
        pytest.param(
            "post",
            "/api/v1/waitlist",
            {"data": '{"email": "' + "a" * 300_000 + '"}', "content_type": "application/json"},
            413,
            "request_too_large",
            id="huge-json",
        ),
        pytest.param(
            "post",
            "/api/v1/waitlist",
            {"data": {"email": 12}, "content_type": "application/json"},
            400,
            "invalid_input",
            id="wrong-type",
        ),
    ],
)
def test_errors_have_one_shape(client, method, path, kwargs, status, code):
    if isinstance(kwargs.get("data"), dict):
        import json

        kwargs = {**kwargs, "data": json.dumps(kwargs["data"])}
    response = getattr(client, method)(path, **kwargs)
    assert response.status_code == status, response.content[:300]
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code


@pytest.mark.django_db
def test_a_database_pool_that_stays_busy_is_a_503_to_retry_not_a_500(monkeypatch):
    # Given a member whose request finds every pooled connection busy for the pool's timeout
    from django.db import OperationalError
    from psycopg_pool import PoolTimeout
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import RefreshToken

    from accounts.authentication import JWTAuthentication
    from tests.factories import UserFactory

    token = RefreshToken.for_user(UserFactory()).access_token

    def busy(self, validated_token):
        raise OperationalError("no connection") from PoolTimeout("couldn't get a connection after 10.00 sec")

    monkeypatch.setattr(JWTAuthentication, "get_user", busy)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.get("/api/v1/me")
    assert response.status_code == 503, response.content[:300]
    assert response.json()["error"]["code"] == "server_busy"


@pytest.mark.django_db
def test_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert schema.json()["openapi"].startswith("3.")
    assert "/api/v1/auth/signup" in schema.json()["paths"]
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content


@pytest.mark.django_db
def test_healthz_reports_each_dependency_and_a_missing_worker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["checks"]["database"]["ok"]
    assert body["checks"]["redis"]["ok"]
    assert body["checks"]["worker"] == {
        **body["checks"]["worker"],
        "ok": False,
        "error": "no_worker_heartbeat",
    }
    assert body["status"] == "degraded"


@pytest.mark.django_db
def test_healthz_is_503_when_redis_is_down(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "down"
    assert response.json()["checks"]["redis"]["ok"] is False


@pytest.mark.parametrize("proxies", ["*", "10.0.0.1, lb.example.com", "10.0.0.999"])
def test_trusted_proxies_must_be_addresses_or_networks(proxies):
    result = run([sys.executable, "manage.py", "check"], production_env(TRUSTED_PROXIES=proxies))
    assert result.returncode != 0
    assert "TRUSTED_PROXIES" in result.stderr
    assert "is not an address or a network" in result.stderr
