"""What the Dagster daemon does, in process, for tests of the daily operation: sensor ticks
with their cursors, automation ticks with theirs, and the runs they request."""

from __future__ import annotations

from collections import defaultdict

import dagster as dg

from medallion.operation import QUIET, Operator


class Daemon(Operator):
    """Ticks sensors, schedules and the automation sensors of `defs` against `instance`, and
    runs what they request in process (one run per request, as the daemon launches them).
    Its sensor ticks return every request, repeated run keys included, so a test sees what
    the sensor asked for."""

    def __init__(self, defs: dg.Definitions, instance: dg.DagsterInstance) -> None:
        super().__init__(defs, instance)
        self.automation_cursor = None

    def tick(self, sensor_name: str) -> list[dg.RunRequest]:
        return self.evaluate(sensor_name)

    def launch(self, job_name: str, request: dg.RunRequest) -> dg.ExecuteInProcessResult:
        """Run a sensor's or schedule's request of a named job."""
        tags = dict(request.tags) | (
            {"dagster/run_key": request.run_key} if request.run_key else {}
        )
        return self.defs.resolve_job_def(job_name).execute_in_process(
            run_config=QUIET,
            instance=self.instance,
            asset_selection=request.asset_selection,
            partition_key=request.partition_key,
            tags=tags,
            raise_on_error=False,
        )

    def automation(
        self, sensor_name: str
    ) -> tuple[dict[str | None, list[dg.AssetKey]], list[dg.ExecuteInProcessResult]]:
        """One tick of an automation sensor: what it requested (asset keys per partition) and
        the runs of those requests, one per partition as the daemon groups them."""
        sensor = self.defs.resolve_sensor_def(sensor_name)
        assert isinstance(sensor, dg.AutomationConditionSensorDefinition)
        result = dg.evaluate_automation_conditions(
            defs=self.defs,
            instance=self.instance,
            asset_selection=sensor.asset_selection,
            cursor=self.automation_cursor,
        )
        self.automation_cursor = result.cursor
        requested: dict[str | None, list[dg.AssetKey]] = defaultdict(list)
        for evaluation in result.results:
            if not isinstance(evaluation.key, dg.AssetKey):
                continue
            for partition in result.get_requested_partitions(evaluation.key):
                requested[partition].append(evaluation.key)
        for keys in requested.values():
            keys.sort(key=lambda k: k.to_user_string())
        job = self.defs.resolve_implicit_global_asset_job_def()
        runs = [
            job.execute_in_process(
                run_config=QUIET,
                instance=self.instance,
                asset_selection=keys,
                partition_key=partition,
                tags=dict(sensor.run_tags),
                raise_on_error=False,
            )
            for partition, keys in requested.items()
        ]
        return dict(requested), runs
