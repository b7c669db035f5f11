"""docker-compose.yml is valid against the Compose specification's JSON Schema."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from tests.conftest import ROOT, SHARED


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
