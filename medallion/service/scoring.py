"""Scoring one request: find the features (by entity key in the published model table, or
as given), let the champion answer, log its predictions and hand the same input to the
shadow scorer. Without a champion every call is a 503 that says why."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import polars as pl

from medallion.service.catalog import PublishedTable, QueryError
from medallion.service.models import (
    ROLE_ANSWER,
    Lineup,
    feature_frame,
    load,
    model_input,
    predict,
)
from medallion.service.predictions import PredictionLog, input_hashes, now_utc
from medallion.service.queries import _key_rows, cast_value
from medallion.service.shadow import ShadowScorer, ShadowTask
from medallion.spec import ProductSpec


@dataclass(frozen=True)
class ScoreRequest:
    """Either an entity key (its latest row, or the row `as_of` a time) or feature rows."""

    key: str | None = None
    as_of: str | None = None
    rows: list[dict] | None = None


class ProductScorer:
    """The champion of one product, in this process, and the way to its shadow."""

    def __init__(
        self,
        spec: ProductSpec,
        lineup: Lineup,
        table: PublishedTable | None,
        log: PredictionLog,
        shadow: ShadowScorer | None,
    ) -> None:
        assert spec.model is not None
        self.spec, self.lineup, self.table = spec, lineup, table
        self.log, self.shadow = log, shadow
        self.features = list(spec.model.features)
        self.champion = load(lineup.champion) if lineup.champion else None
        self.categorical = self._categorical()
        self._warm_up()

    def _warm_up(self) -> None:
        """One prediction before the first request (the first call of a pipeline is slow)."""
        if self.champion is not None and self.table is not None and self.table.loaded:
            sample = self.table.loaded.frame.head(1)
            predict(self.champion, model_input(sample, self.features, self.categorical))

    def _categorical(self) -> set[str]:
        """Text features, by their type in the published model table (else the signature)."""
        if self.table is not None and self.table.loaded is not None:
            schema = self.table.loaded.frame.schema
            return {f for f in self.features if schema.get(f) == pl.String}
        if self.lineup.champion is None:
            return set()
        from mlflow.models import get_model_info

        inputs = get_model_info(self.lineup.champion.uri).signature.inputs.inputs
        return {c.name for c in inputs if str(c.type).lower().startswith("datatype.string")}

    def _by_key(self, request: ScoreRequest) -> pl.DataFrame:
        if self.table is None:
            raise QueryError(f"{self.spec.name} serves no model table", 404)
        loaded = self.table.require()
        p = loaded.publication
        rows = _key_rows(
            loaded.frame, p.key, cast_value(request.key, loaded.frame.schema[p.key], "key")
        )
        if request.as_of is not None and p.time_column:
            when = cast_value(request.as_of, loaded.frame.schema[p.time_column], "as_of")
            rows = rows.filter(pl.col(p.time_column) == when)
        if rows.is_empty():
            raise QueryError(f"no row of {p.table} for key {request.key!r}", 404)
        return rows.tail(1)

    def score(self, request: ScoreRequest) -> dict[str, object]:
        """The champion's answer; its predictions logged, the input queued for the shadow."""
        champion = self.lineup.champion
        if champion is None or self.champion is None:
            raise QueryError(self.lineup.reason or "no champion", 503)
        if (request.key is None) == (request.rows is None):
            raise QueryError("give either key (optionally with as_of) or rows")
        if request.key is not None:
            frame = self._by_key(request)
            p = self.table.require().publication  # type: ignore[union-attr]
            keys = frame[p.key].cast(pl.String).to_list()
            as_of = frame[p.time_column].cast(pl.String).to_list() if p.time_column else [None]
        else:
            frame = feature_frame(request.rows or [], self.features, self.categorical)
            keys, as_of = [None] * frame.height, [None] * frame.height
        features = model_input(frame, self.features, self.categorical)
        started = time.perf_counter()
        outputs = predict(self.champion, features)
        each_ms = (time.perf_counter() - started) * 1000 / len(outputs)
        request_id, predicted_at = uuid.uuid4().hex, now_utc()
        hashes = input_hashes(frame.select(self.features))
        self.log.append(
            [
                (request_id, predicted_at, self.spec.name, champion.name, champion.version,
                 champion.alias, champion.variant, ROLE_ANSWER, k, a, h, float(o), each_ms)
                for k, a, h, o in zip(keys, as_of, hashes, outputs, strict=True)
            ]
        )  # fmt: skip
        if self.shadow is not None and self.lineup.challengers:
            rows = list(features.itertuples(index=False, name=None))
            self.shadow.submit(
                ShadowTask(
                    self.spec.name, request_id, predicted_at, keys, as_of, hashes,
                    self.features, rows,
                )
            )  # fmt: skip
        threshold = champion.threshold
        return {
            "request_id": request_id,
            "model": {
                "name": champion.name,
                "version": champion.version,
                "alias": champion.alias,
                "variant": champion.variant,
            },
            "shadow": [c.alias for c in self.lineup.challengers],
            "predictions": [
                {"key": k, "as_of": a, "output": float(o)}
                | ({} if threshold is None else {"positive": bool(o >= threshold)})
                for k, a, o in zip(keys, as_of, outputs, strict=True)
            ],
        }
