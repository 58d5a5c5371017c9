"""Everything one service process holds: the catalog of published gold, each product's
champion, the prediction log and the shadow scorer. Built in the worker that serves
(uvicorn's lifespan), from the settings and the products to serve."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medallion.service.catalog import Catalog, QueryError
from medallion.service.models import Lineup, lineup
from medallion.service.predictions import PredictionLog, predictions_root
from medallion.service.publishing import published_root
from medallion.service.scoring import ProductScorer
from medallion.service.shadow import ShadowScorer
from medallion.settings import Settings
from medallion.spec import ProductSpec

TOKEN_ENV = "MEDALLION_SERVICE_TOKEN"
PRODUCTS_ENV = "MEDALLION_SERVE_PRODUCTS"
SHADOW_ENV = "MEDALLION_SERVE_SHADOW"
ALIAS_ENV = "MEDALLION_SERVE_ALIAS"


@dataclass
class Service:
    """The state behind the HTTP routes."""

    specs: list[ProductSpec]
    settings: Settings
    tracking: Any
    token: str | None = None
    shadow_enabled: bool = True
    alias: str = "champion"
    catalog: Catalog = field(init=False)
    lineups: dict[str, Lineup] = field(default_factory=dict)
    scorers: dict[str, ProductScorer] = field(default_factory=dict)
    log: PredictionLog | None = None
    shadow: ShadowScorer | None = None

    def __post_init__(self) -> None:
        self.catalog = Catalog(self.specs, published_root(self.settings.warehouse))

    def start(self) -> None:
        """Load models, start the watcher, the log writer and the shadow process."""
        first = self.specs[0].service if self.specs else None
        flush = (first.log_flush_rows, first.log_flush_seconds) if first else (5000, 1.0)
        self.log = PredictionLog(predictions_root(self.settings.warehouse), *flush).start()
        self.catalog.start()
        with_models = [s for s in self.specs if s.model is not None and s.model.variants]
        self.lineups = {s.name: lineup(s, self.tracking, self.alias) for s in with_models}
        shadows = {n: lu.challengers for n, lu in self.lineups.items() if lu.challengers}
        if shadows and self.shadow_enabled and first is not None:
            self.shadow = ShadowScorer(
                self.tracking.tracking_uri,
                shadows,
                predictions_root(self.settings.warehouse),
                flush,
                first.shadow_queue,
                first.shadow_batch_ms / 1000,
            )
            self.shadow.wait_ready()
        for spec in with_models:
            assert spec.model is not None
            table = self.catalog.tables.get((spec.name, spec.model.table))
            self.scorers[spec.name] = ProductScorer(
                spec, self.lineups[spec.name], table, self.log, self.shadow
            )

    def close(self) -> None:
        """Flush the prediction log and stop the background work."""
        self.catalog.stop()
        if self.shadow is not None:
            self.shadow.close()
        if self.log is not None:
            self.log.close()

    def scorer(self, product: str) -> ProductScorer:
        spec = self.catalog.spec(product)
        if product not in self.scorers:
            raise QueryError(f"{spec.name} has no model to score", 404)
        return self.scorers[product]

    def only_model_product(self) -> str:
        if len(self.scorers) != 1:
            raise QueryError(
                f"/invocations needs exactly one product with a model, this service has "
                f"{sorted(self.scorers)}: POST /products/<product>/score"
            )
        return next(iter(self.scorers))

    def describe_model(self, product: str) -> dict[str, Any] | None:
        found = self.lineups.get(product)
        if found is None:
            return None

        def ref(r) -> dict[str, Any]:
            return {"version": r.version, "alias": r.alias, "variant": r.variant}

        return {
            "champion": ref(found.champion) if found.champion else None,
            "challengers": [ref(r) for r in found.challengers],
            "scoring": "available" if found.champion else "unavailable",
            "reason": found.reason,
        }

    def describe_product(self, product: str) -> dict[str, Any]:
        spec = self.catalog.spec(product)
        return {
            "name": spec.name,
            "description": (spec.description or "").strip() or None,
            "owner": spec.owner,
            "tables": [self.catalog.tables[(spec.name, n)].describe() for n in spec.gold],
            "model": self.describe_model(product),
            "budgets": {
                "lookup_p95_ms": spec.service.lookup_p95_ms,
                "score_p95_ms": spec.service.score_p95_ms,
            },
        }

    def health(self) -> dict[str, Any]:
        published = sum(t.loaded is not None for t in self.catalog.tables.values())
        return {
            "status": "ok",
            "products": sorted(self.catalog.specs),
            "published_tables": published,
            "champions": {n: bool(lu.champion) for n, lu in self.lineups.items()},
            "predictions_logged": self.log.written if self.log else 0,
            "shadow_dropped": self.shadow.dropped if self.shadow else 0,
        }


def service_from_env() -> Service:
    """The Service the environment describes (how uvicorn's workers build theirs)."""
    from medallion.resources.tracking import TrackingResource
    from medallion.spec import load_specs

    settings = Settings.from_env()
    specs = load_specs(settings.product_files())
    chosen = [n for n in os.environ.get(PRODUCTS_ENV, "").split(",") if n]
    if chosen:
        specs = [s for s in specs if s.name in chosen]
    return Service(
        specs,
        settings,
        TrackingResource.for_settings(settings),
        token=os.environ.get(TOKEN_ENV) or None,
        shadow_enabled=os.environ.get(SHADOW_ENV, "1") != "0",
        alias=os.environ.get(ALIAS_ENV) or "champion",
    )


def app_from_env():
    """uvicorn's factory: `uvicorn --factory medallion.service.state:app_from_env`."""
    from medallion.service.app import create_app

    return create_app(service_from_env())


def published_path(settings: Settings) -> Path:
    return published_root(settings.warehouse)
