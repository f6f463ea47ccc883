"""compose.yaml: the production topology on one Docker host."""

from services import SERVICES, ServiceInfo
from shared.flags import FLAGS

from .common import IMAGE, USER_ID, flask_command, yaml_text


def _database_url(name: str) -> str:
    return f"postgresql://cohort:${{POSTGRES_PASSWORD:-cohort}}@postgres:5432/{name}"


def files_path(info: ServiceInfo) -> str:
    """Where a service with served files keeps them in the containers; the gateway mounts
    the same volume at the same path, so X-Accel-Redirect finds the file (the Dockerfile
    makes the directory, owned by the services' user)."""
    return f"/var/lib/cohort/files/{info.name}"


def compose() -> str:
    names = " ".join(SERVICES)
    served = [info for info in SERVICES.values() if info.files]
    app_env = {
        "COHORT_ENV": "production",
        "JWT_SECRET": "${JWT_SECRET:?set JWT_SECRET, e.g. openssl rand -hex 32}",
        "SERVICE_TOKEN": "${SERVICE_TOKEN:?set SERVICE_TOKEN, e.g. openssl rand -hex 32}",
        "CACHE_URL": "redis://redis:6379/0",
        "SERVICES_URL": "http://gateway:8100",
        **{flag: f"${{{flag}:-off}}" for flag in FLAGS},
    }
    app = {"build": {"context": "..", "dockerfile": "deploy/Dockerfile"}, "image": IMAGE}
    services: dict[str, dict] = {
        "postgres": {
            "image": "postgres:16-alpine",
            "environment": {"POSTGRES_USER": "cohort",
                            "POSTGRES_PASSWORD": "${POSTGRES_PASSWORD:-cohort}"},
            "volumes": ["postgres-data:/var/lib/postgresql/data"],
            "healthcheck": {"test": ["CMD-SHELL", "pg_isready -U cohort"], "interval": "5s",
                            "timeout": "3s", "retries": 20},
            "restart": "unless-stopped",
        },
        "redis": {
            "image": "redis:7-alpine",
            "command": ["redis-server", "--save", "", "--appendonly", "no", "--maxmemory",
                        "256mb", "--maxmemory-policy", "allkeys-lru"],
            "healthcheck": {"test": ["CMD", "redis-cli", "ping"], "interval": "5s",
                            "timeout": "3s", "retries": 20},
            "restart": "unless-stopped",
        },
        # One database per service, created at every start if missing (idempotent).
        "databases": {
            "image": "postgres:16-alpine",
            "environment": {"PGPASSWORD": "${POSTGRES_PASSWORD:-cohort}"},
            "command": ["sh", "-c",
                        f"for db in {names}; do psql -h postgres -U cohort -d postgres -tAc "
                        "\"SELECT 1 FROM pg_database WHERE datname = '$$db'\" | grep -q 1 || "
                        "psql -v ON_ERROR_STOP=1 -h postgres -U cohort -d postgres -c "
                        "\"CREATE DATABASE $$db\"; done"],
            "depends_on": {"postgres": {"condition": "service_healthy"}},
            "restart": "no",
        },
    }
    for info in SERVICES.values():
        database = {"DATABASE_URL": _database_url(info.name)}
        services[f"migrate-{info.name}"] = {
            **app, "command": flask_command(info, "db", "upgrade"),
            "environment": {**app_env, **database},
            "depends_on": {"databases": {"condition": "service_completed_successfully"}},
            "restart": "no",
        }
    services["gateway-config"] = {
        **app, "command": ["python", "-m", "gateway.render", "--out", "/gateway",
                           "--copy-static"],
        "environment": {"GATEWAY_LISTEN": "0.0.0.0", "GATEWAY_INTERNAL_LISTEN": "0.0.0.0",
                        "GATEWAY_ACCESS_LOG": "/dev/stdout", "GATEWAY_ERROR_LOG": "stderr",
                        **{f"{i.env_prefix}UPSTREAM": f"{i.name}:{i.port}"
                           for i in SERVICES.values()},
                        **{i.files.setting: files_path(i) for i in served}},
        "volumes": ["gateway-config:/gateway"],
        "restart": "no",
    }
    for info in SERVICES.values():
        probe = (f"import urllib.request; urllib.request.urlopen("
                 f"'http://127.0.0.1:{info.port}/health/ready/', timeout=3)")
        services[info.name] = {
            **app, "command": ["gunicorn", "-c", "deploy/gunicorn.conf.py", info.wsgi],
            "environment": {**app_env, "DATABASE_URL": _database_url(info.name),
                            "GUNICORN_BIND": f"0.0.0.0:{info.port}"},
            "depends_on": {"postgres": {"condition": "service_healthy"},
                           "redis": {"condition": "service_healthy"},
                           f"migrate-{info.name}": {
                               "condition": "service_completed_successfully"}},
            "healthcheck": {"test": ["CMD", "python", "-c", probe], "interval": "10s",
                            "timeout": "5s", "start_period": "10s", "retries": 3},
            "restart": "unless-stopped",
        }
        if info.files:
            services[info.name]["environment"][info.files.setting] = files_path(info)
            services[info.name]["volumes"] = [f"{info.name}-files:{files_path(info)}"]
    services["gateway"] = {
        "image": "nginxinc/nginx-unprivileged:1.27-alpine",
        "user": str(USER_ID),  # the renderer's user: it owns the config volume
        "entrypoint": ["nginx"],
        "command": ["-p", "/gateway", "-c", "/gateway/nginx.conf"],
        "ports": ["${GATEWAY_PORT:-8000}:8000"],
        "volumes": ["gateway-config:/gateway",
                    *(f"{i.name}-files:{files_path(i)}:ro" for i in served)],
        "depends_on": {"gateway-config": {"condition": "service_completed_successfully"},
                       **{n: {"condition": "service_healthy"} for n in SERVICES}},
        "healthcheck": {"test": ["CMD", "wget", "-q", "-O", "/dev/null",
                                 "http://127.0.0.1:8000/health/gateway/live/"],
                        "interval": "10s", "timeout": "3s", "retries": 3},
        "restart": "unless-stopped",
    }
    document = {"name": "cohort-scale", "services": services,
                "volumes": {"postgres-data": None, "gateway-config": None,
                            **{f"{i.name}-files": None for i in served}}}
    usage = ("# The production topology on one Docker host:\n"
             "#   JWT_SECRET=$(openssl rand -hex 32) SERVICE_TOKEN=$(openssl rand -hex 32) \\\n"
             "#     docker compose -f deploy/compose.yaml up --build\n"
             "# The gateway answers on http://127.0.0.1:8000. Each service has its own database,\n"
             "# created at start; its migrations run once, as their own step.\n")
    return yaml_text(document, comment=usage)
