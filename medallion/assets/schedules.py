"""The daily evaluation: a schedule per product that runs its monitoring job.

It is on by default (`dagster dev` starts the daemon that runs it), at `monitoring.schedule`
in `monitoring.timezone`. Each run evaluates every gold window not yet evaluated, so a day
the schedule missed is caught up by the next run.
"""

import dagster as dg

from medallion.assets.jobs import has_model, monitoring_job_name
from medallion.spec import ProductSpec


def build_monitoring_schedule(spec: ProductSpec) -> dg.ScheduleDefinition:
    monitoring = spec.monitoring
    return dg.ScheduleDefinition(
        name=f"{spec.name}_monitoring_daily",
        cron_schedule=monitoring.schedule,
        job_name=monitoring_job_name(spec),
        execution_timezone=monitoring.timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        tags={"medallion/product": spec.name, "medallion/trigger": "schedule"},
        description=(
            f"Evaluates {spec.name}'s champion for drift and performance at "
            f"'{monitoring.schedule}' ({monitoring.timezone})."
        ),
    )


def product_schedules(spec: ProductSpec) -> list[dg.ScheduleDefinition]:
    """The daily monitoring schedule of a product that trains models."""
    return [build_monitoring_schedule(spec)] if has_model(spec) else []
