"""One machine: the Procfile, and the systemd target and timers."""

import re

from services import SERVICES, Cron, ServiceInfo

from .common import HEADER, cron_name


def procfile() -> str:
    lines = ["# The full topology on one machine: honcho start -f deploy/Procfile (from the",
             "# repository root). Migrate first, never here: cohort migrate"]
    for info in SERVICES.values():
        lines.append(f"{info.name}: exec env SERVICES_URL=${{SERVICES_URL:-http://127.0.0.1:8100}}"
                     f" CACHE_URL=${{CACHE_URL:-null://}} GUNICORN_BIND=127.0.0.1:{info.port}"
                     f' gunicorn -c deploy/gunicorn.conf.py "{info.wsgi}"')
    lines.append('gateway: python -m gateway.render --out "$PWD/var/gateway" && exec nginx -p '
                 '"$PWD/var/gateway" -c "$PWD/var/gateway/nginx.conf"')
    return HEADER + "\n".join(lines) + "\n"


def on_calendar(schedule: str) -> str:
    """A cron schedule (minute and hour fields as numbers, * or */n; the others *) as
    systemd's OnCalendar."""
    minute, hour, *rest = schedule.split()
    if rest != ["*", "*", "*"]:
        raise ValueError(f"only minute and hour may be set in {schedule!r}")

    def field(value: str) -> str:
        step = re.fullmatch(r"\*/(\d+)", value)
        if step:
            return f"00/{int(step[1]):02d}"
        return "*" if value == "*" else f"{int(value):02d}"

    return f"*-*-* {field(hour)}:{field(minute)}:00"


def timer_units(info: ServiceInfo, cron: Cron) -> tuple[str, str]:
    command = " ".join(["/opt/cohort/.venv/bin/flask", "--app", info.package, cron.command,
                        *cron.args])
    service = f"""{HEADER.rstrip()}
# {cron.command} of the {info.name} service; safe if two copies start (it takes a lock).
[Unit]
Description=Cohort Scale: {info.name} {" ".join([cron.command, *cron.args])}
After=network-online.target postgresql.service

[Service]
Type=oneshot
User=cohort
Group=cohort
WorkingDirectory=/opt/cohort
Environment=COHORT_ENV=production
EnvironmentFile=/etc/cohort/common.env
EnvironmentFile=/etc/cohort/{info.name}.env
ExecStart={command}
NoNewPrivileges=yes
PrivateTmp=yes
"""
    timer = f"""{HEADER.rstrip()}
# cron equivalent: {cron.schedule} (UTC), caught up after downtime.
[Unit]
Description=Cohort Scale: {info.name} {cron.command} on a schedule

[Timer]
OnCalendar={on_calendar(cron.schedule)} UTC
RandomizedDelaySec=1m
Persistent=true

[Install]
WantedBy=timers.target
"""
    return service, timer


def target() -> str:
    wants = " ".join(["cohort-gateway.service", *(f"cohort@{n}.service" for n in SERVICES)])
    timers = " ".join(f"cohort-{cron_name(i, c)}.timer"
                      for i in SERVICES.values() for c in i.crons)
    return (f"{HEADER}# Everything of Cohort Scale on this machine: systemctl enable --now "
            f"cohort.target\n[Unit]\nDescription=Cohort Scale (gateway and services)\n"
            f"Wants={wants}\n" + (f"Wants={timers}\n" if timers else "")
            + "\n[Install]\nWantedBy=multi-user.target\n")
