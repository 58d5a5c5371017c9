"""Monitoring: is the data the champion now scores still like the data it learned from, and
does it still perform as its holdout promised? Pure logic: statistics (drift, performance),
windows, kept history, charts, evaluation and the retrain policy. The Dagster wiring (assets,
jobs, schedules, sensors) is in medallion.assets."""
