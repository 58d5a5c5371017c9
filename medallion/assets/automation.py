"""Declarative automation: silver and gold follow their inputs, never past a failing check.

Who does what in the daily operation (no asset is built twice for one delivery):

- the landing sensor requests `<product>_ingest` for each new file content, selecting the
  file's bronze, silver and gold chain: one run builds the delivered day through the zones;
- the automation sensor evaluates `follows_inputs()` on silver and gold. A parent updated by a
  run that also selected the asset does not count (`any_deps_updated` ignores it), so after an
  ingest run it requests nothing; it builds what an input's update left behind (a bronze or
  silver asset materialized alone from the UI or the shell, a gold version whose input was
  rebuilt), and never past a parent whose blocking check failed;
- the monitoring schedule evaluates the champion once a day; the retrain sensor requests
  `<product>_retrain` when monitoring reports an alert. The ML zone has no condition: training
  on every gold update would retrain without a reason.
"""

import dagster as dg

from medallion.spec import ProductSpec

AUTOMATION_TAGS = {"medallion/trigger": "automation"}


def follows_inputs() -> dg.AutomationCondition:
    """`eager()` without its `newly_missing` trigger, and only when every parent's blocking
    checks passed (or will run in the same run, which stops on a failure).

    A daily-partitioned gold table gets a new, missing partition every midnight; eager would
    materialize it then with no new data. Only updates count here. Time-partitioned assets
    are evaluated on the latest partition only: an incremental gold run recomputes every day
    the changed silver rows reach, whichever partition it targets, so a late delivery of an
    older day reaches that day through today's partition.
    """
    return (
        dg.AutomationCondition.in_latest_time_window()
        & dg.AutomationCondition.any_deps_updated().since_last_handled()
        & ~dg.AutomationCondition.any_deps_missing()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
        & dg.AutomationCondition.all_deps_blocking_checks_passed()
    ).with_label("follows its inputs")


def automation_selection(spec: ProductSpec) -> dg.AssetSelection:
    """The product's assets an automation condition may be on (its zones)."""
    return dg.AssetSelection.key_prefixes([spec.name, "silver"], [spec.name, "gold"])


def build_automation_sensor(spec: ProductSpec) -> dg.AutomationConditionSensorDefinition:
    """Evaluates the product's automation conditions; runs it launches carry the product tag."""
    return dg.AutomationConditionSensorDefinition(
        name=f"{spec.name}_automation",
        target=automation_selection(spec),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=30,
        run_tags={"medallion/product": spec.name, **AUTOMATION_TAGS},
        description=(
            f"Materializes {spec.name}'s silver and gold assets when an input was updated by a "
            "run that did not build them (the landing sensor's ingest runs build their whole "
            "chain), never past a failing blocking check. Time-partitioned gold: latest "
            "partition, which recomputes every day the new data reaches."
        ),
    )
