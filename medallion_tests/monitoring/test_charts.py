"""The drift charts: one PNG per feature that moved, for the scores and for the dataset."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from medallion.monitoring.charts import DATASET, drift_charts


def _history(statuses: dict[str, list[str]]) -> pl.DataFrame:
    rows = []
    for feature, per_day in statuses.items():
        for offset, status in enumerate(per_day):
            for statistic in ("psi", "ks"):
                rows.append(
                    {
                        "feature": feature,
                        "statistic": statistic,
                        "window_end": date(2026, 5, 1) + timedelta(days=offset),
                        "value": 0.3 if status == "alert" else 0.05,
                        "threshold": 0.25,
                        "status": status,
                        "model_version": "1",
                    }
                )
    return pl.DataFrame(rows)


def test_only_features_that_moved_get_a_chart(tmp_path):
    history = _history(
        {
            "steady": ["ok", "ok", "ok"],
            "too_few_rows": ["insufficient", "insufficient", "ok"],
            "warned_once": ["ok", "warn", "ok"],
            "alerted": ["ok", "ok", "alert"],
            "prediction": ["ok", "ok", "ok"],
            DATASET: ["ok", "ok", "alert"],
        }
    )
    written = drift_charts(history, tmp_path, "shop")
    assert sorted(p.name for p in written) == [
        "alerted.png",
        "dataset.png",
        "prediction.png",
        "warned_once.png",
    ]
    assert all(p.stat().st_size > 1000 for p in written)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in written)
