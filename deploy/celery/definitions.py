"""The Definitions of a many-machine deployment: the lake profile, steps of ad hoc runs and
backfills sent to Celery workers (dagster-celery) through the broker MEDALLION_CELERY_BROKER
names; jobs keep their own executors. Load with `dagster ... -f deploy/celery/definitions.py`
on the webserver and daemon, and `dagster-celery worker start -A dagster_celery.app` on each
worker, every machine with the same environment (deploy/README.md)."""

import dagster as dg
from dagster_celery import celery_executor

from medallion.build import build_definitions

CELERY = celery_executor.configured(
    {
        "broker": {"env": "MEDALLION_CELERY_BROKER"},
        "backend": {"env": "MEDALLION_CELERY_BACKEND"},
        "retries": {"enabled": {}},
    },
    name="celery_lake",
)

defs: dg.Definitions = build_definitions(executor=CELERY)
