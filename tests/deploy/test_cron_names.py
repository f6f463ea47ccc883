"""Two schedules of one command get a unit and a CronJob each, told apart by the cron's name."""

import pytest

from cohort.deployfiles.kubernetes import cron_job
from cohort.deployfiles.machine import timer_units
from services import SERVICES, Cron, ServiceInfo


def test_one_command_on_two_schedules_needs_a_name():
    with pytest.raises(ValueError, match="give one a `name`"):
        ServiceInfo("probe", 8099, crons=(Cron("work", "* * * * *"),
                                          Cron("work", "0 3 * * *", ("--all",))))
    info = ServiceInfo("probe", 8099, crons=(Cron("work", "* * * * *"),
                                             Cron("work", "0 3 * * *", ("--all",), name="all")))
    names = [cron_job(info, cron)["metadata"]["name"] for cron in info.crons]
    assert names == ["probe-work", "probe-all"]
    service, _ = timer_units(info, info.crons[1])
    assert "work --all" in service


def test_every_cron_of_the_registry_has_its_own_job():
    for info in SERVICES.values():
        names = [cron_job(info, cron)["metadata"]["name"] for cron in info.crons]
        assert len(set(names)) == len(names), info.name
