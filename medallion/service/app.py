"""The HTTP face of the service (FastAPI): discovery, queries, downloads and scoring over
the `Service` state, which knows nothing of HTTP."""

from __future__ import annotations

import hmac
import io
import json
from contextlib import asynccontextmanager
from typing import Any

import polars as pl
from fastapi import FastAPI, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from medallion.service.catalog import QueryError
from medallion.service.queries import RowQuery, parse_columns, select_rows
from medallion.service.scoring import ScoreRequest
from medallion.service.state import Service

ARROW_STREAM = "application/vnd.apache.arrow.stream"


class TokenGuard:
    """Every request must carry `Authorization: Bearer <token>`; compared in constant time."""

    def __init__(self, app, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            given = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
            if not hmac.compare_digest(given, self.expected):
                body = b'{"error": "missing or wrong bearer token"}'
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"www-authenticate", b"Bearer"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def _page_response(request: Request, service: Service, product: str, table: str, query: RowQuery):
    loaded = service.catalog.table(product, table).require()
    page = select_rows(loaded, query, service.catalog.spec(product).service.max_limit)
    p = loaded.publication
    headers = {
        "X-Medallion-Data-Version": p.data_version,
        "X-Medallion-Version-Id": p.version_id,
        "X-Medallion-Total-Rows": str(page.total),
    }
    if page.next_offset is not None:
        headers["X-Medallion-Next-Offset"] = str(page.next_offset)
    if ARROW_STREAM in request.headers.get("accept", ""):
        buffer = io.BytesIO()
        page.frame.write_ipc_stream(buffer)
        return Response(buffer.getvalue(), media_type=ARROW_STREAM, headers=headers)
    head = json.dumps(
        {
            "product": product,
            "table": table,
            "data_version": p.data_version,
            "version_id": p.version_id,
            "total": page.total,
            "offset": page.offset,
            "limit": page.limit,
            "next_offset": page.next_offset,
        }
    )
    body = head[:-1] + ', "rows": ' + page.frame.write_json() + "}"
    return Response(body, media_type="application/json", headers=headers)


def create_app(service: Service) -> FastAPI:
    """The app over one Service; the lifespan starts and stops its background work."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        service.start()
        try:
            yield
        finally:
            service.close()

    app = FastAPI(
        title="medallion data product service",
        description="Published gold tables and models of medallion data products (read only).",
        lifespan=lifespan,
    )

    @app.exception_handler(QueryError)
    async def _refused(request: Request, error: QueryError) -> JSONResponse:
        return JSONResponse({"error": str(error)}, status_code=error.status)

    _discovery_routes(app, service)
    _query_routes(app, service)
    _scoring_routes(app, service)
    if service.token:
        return TokenGuard(app, service.token)  # type: ignore[return-value]
    return app


def _discovery_routes(app: FastAPI, service: Service) -> None:
    @app.get("/health")
    async def health() -> dict[str, Any]:
        return service.health()

    @app.get("/ping")
    async def ping() -> Response:
        return Response(b"\n", media_type="text/plain")

    @app.get("/products")
    async def products() -> list[dict[str, Any]]:
        return [service.describe_product(name) for name in service.catalog.specs]

    @app.get("/products/{product}")
    async def product(product: str) -> dict[str, Any]:
        return service.describe_product(product)

    @app.get("/products/{product}/tables/{table}")
    async def table(product: str, table: str) -> dict[str, Any]:
        return service.catalog.table(product, table).describe()


def _query_routes(app: FastAPI, service: Service) -> None:
    @app.get("/products/{product}/tables/{table}/rows")
    async def rows(
        request: Request,
        product: str,
        table: str,
        key: str | None = None,
        start: str | None = Query(None, alias="from", description="time column >= from"),
        end: str | None = Query(None, alias="to", description="time column < to"),
        columns: str | None = Query(None, description="comma-separated column names"),
        limit: int | None = Query(
            None, description="rows per page (default service.default_limit)"
        ),
        offset: int = 0,
    ) -> Response:
        spec = service.catalog.spec(product)
        query = RowQuery(
            key, start, end, parse_columns(columns), limit or spec.service.default_limit, offset
        )
        return _page_response(request, service, product, table, query)

    @app.get("/products/{product}/tables/{table}/rows/{key}")
    async def by_key(request: Request, product: str, table: str, key: str) -> Response:
        spec = service.catalog.spec(product)
        query = RowQuery(key=key, limit=spec.service.max_limit)
        return _page_response(request, service, product, table, query)

    @app.get("/products/{product}/tables/{table}/download")
    async def download(product: str, table: str) -> FileResponse:
        loaded = service.catalog.table(product, table).require()
        p = loaded.publication
        return FileResponse(
            p.data_file(service.catalog.root),
            media_type="application/vnd.apache.parquet",
            filename=f"{product}-{table}-{p.version_id}.parquet",
            headers={"X-Medallion-Data-Version": p.data_version},
        )


def _scoring_routes(app: FastAPI, service: Service) -> None:
    @app.post("/products/{product}/score")
    async def score(product: str, request: Request) -> Response:
        """Body: {"key": ..., "as_of": ...} or {"rows": [{feature: value, ...}, ...]}.

        Scored on the event loop: one prediction is a few milliseconds of work that holds
        the interpreter lock anyway, and a thread hand-off would only add to it."""
        body = await _json_body(request)
        key = body.get("key")
        asked = ScoreRequest(None if key is None else str(key), body.get("as_of"), body.get("rows"))
        answer = service.scorer(product).score(asked)
        return Response(json.dumps(answer), media_type="application/json")

    @app.post("/invocations")
    def invocations(body: dict[str, Any]) -> dict[str, Any]:
        """MLflow's scoring protocol, for the one product with a model."""
        rows = _mlflow_rows(body)
        answer = service.scorer(service.only_model_product()).score(ScoreRequest(rows=rows))
        predictions = answer["predictions"]
        if any("positive" in p for p in predictions):
            # As the logged model answers: the score and the decision at its threshold.
            return {
                "predictions": [
                    {"score": p["output"], "decision": int(p["positive"])} for p in predictions
                ]
            }
        return {"predictions": [p["output"] for p in predictions]}


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except ValueError as error:
        raise QueryError(f"the body is not valid JSON: {error}") from None
    if not isinstance(body, dict):
        raise QueryError("the body must be a JSON object")
    return body


def _mlflow_rows(body: dict[str, Any]) -> list[dict]:
    if "dataframe_records" in body:
        return list(body["dataframe_records"])
    if "dataframe_split" in body:
        split = body["dataframe_split"]
        return pl.DataFrame(split["data"], schema=split["columns"], orient="row").to_dicts()
    raise QueryError("give dataframe_split or dataframe_records (MLflow's scoring protocol)")
