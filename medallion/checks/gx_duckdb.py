"""Make Great Expectations validate inside DuckDB.

GX runs each metric query in `SqlAlchemyExecutionEngine.execute_query` and reads the rows
after the connection has been closed; with DuckDB the cursor dies with the connection and
every metric fails with "list index out of range" (GX issues #10738, #11579). Buffering the
result while the connection is open fixes it: the metric queries still run as SQL in
DuckDB, only their (aggregate) results are buffered. Kept in this one module, with a test
that fails if GX changes under it.
"""

from __future__ import annotations

from great_expectations.execution_engine import sqlalchemy_execution_engine as engine_module

_Engine = engine_module.SqlAlchemyExecutionEngine
_PATCHED = "_medallion_buffered"


def _buffered_execute_query(self, query):  # type: ignore[no-untyped-def]
    with self.get_connection() as connection:
        result = self._execute_query_with_recovery(connection, query)
        return result.freeze()()


def install() -> None:
    """Patch GX's execute_query once per process; idempotent."""
    if getattr(_Engine.execute_query, _PATCHED, False):
        return
    if not hasattr(_Engine, "_execute_query_with_recovery"):
        raise RuntimeError(
            "great_expectations changed: SqlAlchemyExecutionEngine._execute_query_with_recovery "
            "is gone; revisit medallion/checks/gx_duckdb.py"
        )
    setattr(_buffered_execute_query, _PATCHED, True)
    _Engine.execute_query = _buffered_execute_query
