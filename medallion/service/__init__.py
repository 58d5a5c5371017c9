"""The data product service: published gold snapshots, the HTTP app that serves them and
scores models, the prediction log and the load generator that checks its budgets."""
