"""The Definitions of a Kubernetes deployment: the lake profile, each step of ad hoc runs and
backfills a Kubernetes Job of its own (dagster-k8s's k8s_job_executor) in the image the run
was launched from; jobs keep their own executors. Served by the code location of the Helm
chart (values.yaml) with `dagster api grpc -f deploy/k8s/definitions.py`."""

import dagster as dg
from dagster_k8s import k8s_job_executor

from medallion.build import build_definitions

K8S = k8s_job_executor.configured(
    {
        "job_namespace": "medallion",
        "env_secrets": ["medallion-env"],
        "max_concurrent": 8,
        "retries": {"enabled": {}},
        "step_k8s_config": {
            "container_config": {
                "resources": {
                    "requests": {"cpu": "1", "memory": "2Gi"},
                    "limits": {"memory": "4Gi"},
                }
            }
        },
    },
    name="k8s_lake",
)

defs: dg.Definitions = build_definitions(executor=K8S)
