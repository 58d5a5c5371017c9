"""Polars transforms of the deliveries product, named from its spec."""

from __future__ import annotations

import polars as pl


def hub_daily(inputs: dict[str, pl.LazyFrame]) -> pl.LazyFrame:
    """Shipments, deliveries, on-time rate, mean delay and exceptions per day and origin hub.

    A day's shipments are those handed in that day (a cohort): their deliveries, delays and
    exceptions are counted whenever they happen, so a recent day's numbers still grow while
    its parcels are on the way.

    Args:
        inputs: lazy frames keyed "silver.shipments" and "silver.tracking_events".

    Returns:
        One row per day and origin hub that has shipments.
    """
    events = inputs["silver.tracking_events"]
    delivered = (
        events.filter(pl.col("status") == "delivered")
        .group_by("shipment_id")
        .agg(pl.col("event_at").min().alias("delivered_at"))
    )
    exceptions = (
        events.filter(pl.col("status") == "exception")
        .group_by("shipment_id")
        .agg(pl.len().cast(pl.Int64).alias("exceptions"))
    )
    shipments = (
        inputs["silver.shipments"]
        .select("shipment_id", "origin_hub", "created_at", "promised_at")
        .join(delivered, on="shipment_id", how="left")
        .join(exceptions, on="shipment_id", how="left")
        .with_columns(
            day=pl.col("created_at").dt.date(),
            delay_hours=(pl.col("delivered_at") - pl.col("promised_at")).dt.total_seconds()
            / 3600.0,
        )
    )
    is_delivered = pl.col("delivered_at").is_not_null()
    return (
        shipments.group_by("day", "origin_hub")
        .agg(
            shipments=pl.len().cast(pl.Int64),
            delivered=is_delivered.sum().cast(pl.Int64),
            on_time=(pl.col("delivered_at") <= pl.col("promised_at")).sum().cast(pl.Int64),
            mean_delay_hours=pl.col("delay_hours").mean(),
            exceptions=pl.col("exceptions").fill_null(0).sum().cast(pl.Int64),
        )
        .select(
            "day",
            "origin_hub",
            "shipments",
            "delivered",
            pl.when(pl.col("delivered") > 0)
            .then(pl.col("on_time") / pl.col("delivered"))
            .round(4)
            .alias("on_time_rate"),
            pl.col("mean_delay_hours").round(2),
            "exceptions",
        )
        .sort("day", "origin_hub")
    )
