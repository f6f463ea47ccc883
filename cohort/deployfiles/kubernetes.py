"""The Kubernetes manifests: a Deployment, Service, autoscaler, migration Job and CronJobs
per service, the shared ConfigMaps, and the gateway."""

from services import SERVICES, Cron, ServiceInfo
from shared.flags import FLAGS

from .common import IMAGE, LABELS, USER_ID, cron_name, flask_command, yaml_text


def _secret(name: str, key: str) -> dict:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": "cohort-secrets", "key": key}}}


def _container_env(info: ServiceInfo) -> list[dict]:
    return [_secret("JWT_SECRET", "JWT_SECRET"), _secret("SERVICE_TOKEN", "SERVICE_TOKEN"),
            _secret("DATABASE_URL", f"{info.env_prefix}DATABASE_URL")]


def _pod(containers: list[dict], restart: str | None = None, **extra) -> dict:
    spec = {"securityContext": {"runAsNonRoot": True, "runAsUser": USER_ID,
                                "runAsGroup": USER_ID}}
    if restart:
        spec["restartPolicy"] = restart
    return {**spec, **extra, "containers": containers}


def _meta(name: str, component: str | None = None, app: str | None = None) -> dict:
    labels = {"app.kubernetes.io/name": app or name, **LABELS}
    if component:
        labels["app.kubernetes.io/component"] = component
    return {"name": name, "labels": labels}


def _job_container(info: ServiceInfo, name: str, command: list[str]) -> dict:
    return {"name": name, "image": IMAGE, "command": command,
            "envFrom": [{"configMapRef": {"name": "cohort-config"}}],
            "env": _container_env(info)}


def migration_job(info: ServiceInfo) -> dict:
    name = f"{info.name}-migrate"
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": _meta(name, "migration", info.name),
        "spec": {"backoffLimit": 2, "ttlSecondsAfterFinished": 86400, "template": {
            "metadata": {"labels": {"app.kubernetes.io/name": name, **LABELS}},
            "spec": _pod([_job_container(info, "migrate", flask_command(info, "db", "upgrade"))],
                         "Never")}},
    }


def cron_job(info: ServiceInfo, cron: Cron) -> dict:
    name = cron_name(info, cron)
    return {
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": _meta(name, cron.command, info.name),
        "spec": {
            "schedule": cron.schedule, "timeZone": "Etc/UTC", "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 3600, "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {"spec": {"backoffLimit": 1, "template": {
                "metadata": {"labels": {"app.kubernetes.io/name": name, **LABELS}},
                "spec": _pod([_job_container(info, cron.command, flask_command(
                    info, cron.command, *cron.args))], "Never")}}},
        },
    }


def deployment(info: ServiceInfo) -> list[dict]:
    """A service's Deployment, Service and autoscaler."""
    selector = {"app.kubernetes.io/name": info.name}
    probe = {"httpGet": {"path": "/health/ready/", "port": "http"}}
    container = {
        "name": info.name, "image": IMAGE,
        "command": ["gunicorn", "-c", "deploy/gunicorn.conf.py", info.wsgi],
        "ports": [{"name": "http", "containerPort": info.port}],
        "envFrom": [{"configMapRef": {"name": "cohort-config"}},
                    {"configMapRef": {"name": "cohort-flags"}}],
        "env": [{"name": "GUNICORN_BIND", "value": f"0.0.0.0:{info.port}"},
                # A container sees the node's CPU count, not its limit: set workers here.
                {"name": "WEB_CONCURRENCY", "value": "3"}, *_container_env(info)],
        "startupProbe": {"httpGet": {"path": "/health/live/", "port": "http"},
                         "periodSeconds": 2, "failureThreshold": 30},
        "livenessProbe": {"httpGet": {"path": "/health/live/", "port": "http"},
                          "periodSeconds": 10, "timeoutSeconds": 3, "failureThreshold": 3},
        "readinessProbe": {**probe, "periodSeconds": 5, "timeoutSeconds": 3,
                           "failureThreshold": 2},
        # Let the Service drop this pod before gunicorn stops taking requests.
        "lifecycle": {"preStop": {"exec": {"command": ["sleep", "5"]}}},
        "resources": {"requests": {"cpu": "500m", "memory": "256Mi"},
                      "limits": {"cpu": "1", "memory": "512Mi"}},
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True},
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    return [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(info.name),
         "spec": {"replicas": 2, "selector": {"matchLabels": selector},
                  "strategy": {"type": "RollingUpdate",
                               "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
                  "template": {"metadata": {"labels": {**selector, **LABELS}},
                               "spec": _pod([container], terminationGracePeriodSeconds=40,
                                            volumes=[{"name": "tmp", "emptyDir": {}}])}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": _meta(info.name),
         "spec": {"selector": selector,
                  "ports": [{"name": "http", "port": info.port, "targetPort": "http"}]}},
        {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
         "metadata": _meta(info.name),
         "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                     "name": info.name},
                  "minReplicas": 2, "maxReplicas": 10,
                  "metrics": [{"type": "Resource", "resource": {
                      "name": "cpu", "target": {"type": "Utilization",
                                                "averageUtilization": 70}}}]}},
    ]


def k8s_service(info: ServiceInfo) -> str:
    comment = (f"# The {info.name} service: Deployment, Service, autoscaler and its commands on\n"
               f"# a schedule. Its migrations are the {info.name}-migrate Job (migrate.yaml),\n"
               "# run before a rollout, never on start.\n")
    return yaml_text(*deployment(info), *(cron_job(info, c) for c in info.crons), comment=comment)


def k8s_migrate() -> str:
    comment = ("# Each service's migrations, a step of their own before a rollout:\n"
               "#   kubectl delete job -l app.kubernetes.io/component=migration"
               " --ignore-not-found\n"
               "#   kubectl apply -f deploy/k8s/migrate.yaml\n"
               "#   kubectl wait --for=condition=complete --timeout=10m"
               " job -l app.kubernetes.io/component=migration\n")
    return yaml_text(*(migration_job(info) for info in SERVICES.values()), comment=comment)


def k8s_config() -> str:
    secrets = " ".join(f"--from-literal={i.env_prefix}DATABASE_URL=postgresql://..."
                       for i in SERVICES.values())
    comment = ("# Settings every service shares, and the feature flags (shared/flags.py declares\n"
               "# them). Change a flag here, then roll the services:\n"
               "#   kubectl apply -f deploy/k8s/config.yaml && kubectl rollout restart"
               " deployment -l app.kubernetes.io/part-of=cohort-scale\n"
               "# The secrets are not kept here; create them once per cluster (one database per"
               " service):\n"
               "#   kubectl create secret generic cohort-secrets --from-literal=JWT_SECRET=..."
               " --from-literal=SERVICE_TOKEN=...\n"
               f"#     {secrets}\n")
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "cohort-config", "labels": LABELS}, "data": {
        "COHORT_ENV": "production", "CACHE_URL": "redis://redis:6379/0",
        "SERVICES_URL": "http://gateway-internal:8100", "LOG_LEVEL": "INFO"}}
    flags = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "cohort-flags", "labels": LABELS},
        "data": {name: flag.default for name, flag in FLAGS.items()}}
    return yaml_text(config, flags, comment=comment)


def k8s_gateway() -> str:
    selector = {"app.kubernetes.io/name": "gateway"}
    render_env = [
        {"name": "GATEWAY_LISTEN", "value": "0.0.0.0"},
        {"name": "GATEWAY_INTERNAL_LISTEN", "value": "0.0.0.0"},
        {"name": "GATEWAY_ACCESS_LOG", "value": "/dev/stdout"},
        {"name": "GATEWAY_ERROR_LOG", "value": "stderr"},
        *({"name": f"{i.env_prefix}UPSTREAM", "value": f"{i.name}:{i.port}"}
          for i in SERVICES.values()),
        # The ingress controllers' pod network: rate limits then count real clients.
        {"name": "GATEWAY_REAL_IP_FROM", "value": "10.0.0.0/8"},
    ]
    mount = [{"name": "gateway", "mountPath": "/gateway"}]
    pod = _pod(
        [{"name": "nginx", "image": "nginxinc/nginx-unprivileged:1.27-alpine",
          "command": ["nginx", "-p", "/gateway", "-c", "/gateway/nginx.conf"],
          "ports": [{"name": "http", "containerPort": 8000},
                    {"name": "internal", "containerPort": 8100}],
          "livenessProbe": {"httpGet": {"path": "/health/gateway/live/", "port": "http"},
                            "periodSeconds": 10},
          "readinessProbe": {"httpGet": {"path": "/health/gateway/ready/", "port": "http"},
                             "periodSeconds": 5},
          "lifecycle": {"preStop": {"exec": {"command": ["sleep", "5"]}}},
          "resources": {"requests": {"cpu": "250m", "memory": "64Mi"},
                        "limits": {"cpu": "1", "memory": "256Mi"}},
          "securityContext": {"allowPrivilegeEscalation": False},
          "volumeMounts": mount}],
        initContainers=[{"name": "render", "image": IMAGE,
                         "command": ["python", "-m", "gateway.render", "--out", "/gateway",
                                     "--copy-static"],
                         "env": render_env, "volumeMounts": mount}],
        volumes=[{"name": "gateway", "emptyDir": {}}])
    comment = ("# The nginx gateway: an init container renders the config from the same image as\n"
               "# the services, nginx (unprivileged image) serves it. `gateway` is the public\n"
               "# Service (put an Ingress or a LoadBalancer in front); `gateway-internal` carries\n"
               "# the services' own calls.\n")
    return yaml_text(
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta("gateway"),
         "spec": {"replicas": 2, "selector": {"matchLabels": selector},
                  "template": {"metadata": {"labels": {**selector, **LABELS}}, "spec": pod}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": _meta("gateway"),
         "spec": {"selector": selector,
                  "ports": [{"name": "http", "port": 8000, "targetPort": "http"}]}},
        {"apiVersion": "v1", "kind": "Service",
         "metadata": _meta("gateway-internal", app="gateway"),
         "spec": {"selector": selector,
                  "ports": [{"name": "internal", "port": 8100, "targetPort": "internal"}]}},
        {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
         "metadata": _meta("gateway"),
         "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                     "name": "gateway"},
                  "minReplicas": 2, "maxReplicas": 6,
                  "metrics": [{"type": "Resource", "resource": {
                      "name": "cpu", "target": {"type": "Utilization",
                                                "averageUtilization": 70}}}]}},
        comment=comment)
