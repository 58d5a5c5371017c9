"""A Polars transform the tiny test product names in its spec."""

import polars as pl


def orders_per_customer(inputs: dict[str, pl.LazyFrame]) -> pl.LazyFrame:
    return (
        inputs["silver.orders"]
        .group_by("customer_id")
        .agg(orders=pl.len(), amount=pl.col("amount").cast(pl.Float64).sum())
        .sort("customer_id")
    )
