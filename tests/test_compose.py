"""docker-compose.yml is valid against the Compose specification's JSON Schema."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest
import yaml

from core.settings import Settings
from tests.conftest import ROOT, SHARED
from tests.test_docs import ALIASES


def test_compose_file_matches_the_spec() -> None:
    schema_path = SHARED / "schemas" / "compose-spec.json"
    if not schema_path.is_file():
        pytest.skip("shared/schemas/compose-spec.json not found beside the checkout")
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(compose), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_services_have_health_checks_and_the_scheduler_is_single() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    for name in ("postgres", "redis", "web", "scheduler", "crawler"):
        assert name in services, name
        assert "healthcheck" in services[name], f"{name} has no health check"
    assert services["scheduler"].get("deploy", {}).get("replicas", 1) == 1
    assert compose.get("volumes"), "no named volumes"


def _services() -> dict[str, Any]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    services: dict[str, Any] = compose["services"]
    return services


def test_app_services_take_every_setting_from_the_env_file() -> None:
    for name in ("migrate", "web", "scheduler", "crawler"):
        service = _services()[name]
        assert service.get("env_file") == ".env", name
        environment = service.get("environment", {})
        # A key listed here would override the env file, with "" when the shell lacks it.
        for key in ("SENDGRID_API_KEY", "SMTP_URL", "WIREWATCH_MAIL_FROM", "WIREWATCH_BASE_URL"):
            assert key not in environment, f"{name} overrides {key} from the env file"


def test_crawler_workers_run_for_good_and_scale() -> None:
    crawler = _services()["crawler"]
    assert crawler["command"] == ["wirewatch", "crawl-worker"]
    assert crawler.get("restart") == "unless-stopped" and "profiles" not in crawler
    assert "container_name" not in crawler  # `--scale crawler=N` needs generated names
    assert crawler["environment"]["WIREWATCH_CRAWL_WORKERS"] == "true"


def test_the_image_gives_the_data_volume_to_its_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    user = re.search(r"^USER (\S+)", dockerfile, re.MULTILINE)
    assert user is not None and user.group(1) != "root"
    assert "mkdir -p /data" in dockerfile
    assert f"chown {user.group(1)}:{user.group(1)} /data" in dockerfile
    assert dockerfile.index("chown") < dockerfile.index("USER ")


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_env_example_lists_every_setting_with_its_default(name: str) -> None:
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    env = ALIASES.get(name, f"WIREWATCH_{name.upper()}")
    match = re.search(rf"^#?{env}=.*$", example, re.MULTILINE)
    assert match is not None, f"{env} missing from .env.example"
    block = example[: match.start()].rsplit("\n\n", 1)[-1]
    assert "Default" in block, f"{env} in .env.example: say its default in the comment above it"
