"""Polars transforms of the churn product, named from its spec."""

from __future__ import annotations

import polars as pl


def daily_revenue(inputs: dict[str, pl.LazyFrame]) -> pl.LazyFrame:
    """Revenue, payments and active customers per day, plan and region.

    Active customers on a day are those whose subscription started on or before it and
    was not cancelled by then: a cumulative sum of starts minus cancellations, so no
    calendar of every customer-day is ever built.

    Args:
        inputs: lazy frames keyed "silver.payments", "silver.subscriptions", "silver.customers".

    Returns:
        One row per day, plan and region over the days that have payments.
    """
    segments = (
        inputs["silver.subscriptions"]
        .select("subscription_id", "customer_id", "plan", "started_at", "cancelled_at")
        .join(
            inputs["silver.customers"].select("customer_id", "region"), on="customer_id", how="left"
        )
        .with_columns(pl.col("region").fill_null("unknown"))
    )
    payments = (
        inputs["silver.payments"]
        .join(
            segments.select("subscription_id", "plan", "region"), on="subscription_id", how="left"
        )
        .with_columns(pl.col("plan").fill_null("unknown"), pl.col("region").fill_null("unknown"))
    )
    succeeded = pl.col("status") == "succeeded"
    revenue = payments.group_by(pl.col("paid_at").dt.date().alias("day"), "plan", "region").agg(
        # sums of decimals are exact, so the table is identical whatever the summing order
        revenue=pl.col("amount").filter(succeeded).sum().cast(pl.Float64),
        refunds=pl.col("amount").filter(pl.col("status") == "refunded").sum().cast(pl.Float64),
        payments=pl.len().cast(pl.Int64),
        failed_payments=(pl.col("status") == "failed").sum().cast(pl.Int64),
    )
    starts = segments.group_by(pl.col("started_at").alias("day"), "plan", "region").agg(
        started=pl.len().cast(pl.Int64)
    )
    cancels = (
        segments.filter(pl.col("cancelled_at").is_not_null())
        .group_by(pl.col("cancelled_at").alias("day"), "plan", "region")
        .agg(cancelled=pl.len().cast(pl.Int64))
    )
    bounds = payments.select(
        first=pl.col("paid_at").dt.date().min(), last=pl.col("paid_at").dt.date().max()
    )
    history_start = segments.select(pl.col("started_at").min().alias("start"))
    calendar = (
        history_start.join(bounds, how="cross")
        .select(pl.date_ranges("start", "last", "1d").alias("day"))
        .explode("day")
        .join(segments.select("plan", "region").unique(), how="cross")
    )
    movement = (
        calendar.join(starts, on=["day", "plan", "region"], how="left")
        .join(cancels, on=["day", "plan", "region"], how="left")
        .with_columns(pl.col("started", "cancelled").fill_null(0))
        .sort("plan", "region", "day")
        .with_columns(
            active_customers=(pl.col("started") - pl.col("cancelled"))
            .cum_sum()
            .over("plan", "region"),
        )
    )
    return (
        movement.join(bounds, how="cross")
        .filter(pl.col("day").is_between(pl.col("first"), pl.col("last")))
        .join(revenue, on=["day", "plan", "region"], how="left")
        .select(
            "day",
            "plan",
            "region",
            pl.col("revenue").fill_null(0.0).round(2),
            pl.col("refunds").fill_null(0.0).round(2),
            pl.col("payments").fill_null(0),
            pl.col("failed_payments").fill_null(0),
            pl.col("started").alias("new_customers"),
            pl.col("cancelled").alias("cancelled_customers"),
            "active_customers",
        )
        .sort("day", "plan", "region")
    )
