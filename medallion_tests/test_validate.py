"""`medallion validate` and `medallion new`: specs checked without running anything, every
problem at once; a scaffolded product validates and runs as it is."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from medallion.cli import main
from medallion.demo import materialize_all, next_delivery_day
from medallion.generate.product import run_generator
from medallion.scaffold import ScaffoldError, scaffold_product
from medallion.settings import PACKAGE_PRODUCTS, Settings
from medallion.spec import SpecError, load_spec
from medallion.validate import product_paths, validate_product, validate_products
from medallion_tests.conftest import TINY_SPEC, write
from medallion_tests.worlds import memory_instance


def _shop(tmp_path: Path, spec_text: str, files: dict[str, str] | None = None) -> Path:
    path = write(tmp_path / "products" / "shop" / "product.yaml", spec_text)
    for name, text in (files or {}).items():
        write(path.parent / name, text)
    return path


def test_shipped_products_are_valid_and_the_plan_lists_what_is_built():
    results = validate_products(product_paths([PACKAGE_PRODUCTS]))

    assert [r.name for r in results] == ["churn", "deliveries"]
    assert all(r.valid for r in results), [r.problems for r in results]
    churn = results[0].plan
    assert "churn/silver/customers" in churn.assets
    assert "churn/gold/customer_features_v2" in churn.assets
    assert "row_accounting" in churn.checks["churn/silver/customers"]
    assert "version_comparison" in churn.checks["churn/gold/customer_features_v2"]
    assert "bias_gate" in churn.checks["churn/ml/random_forest"]
    # every candidate is timed in the champion step, one after another
    assert "latency_gate_random_forest" in churn.checks["churn/ml/champion"]
    assert churn.jobs == ["churn_ingest", "churn_monitoring", "churn_retrain"]
    assert churn.schedules == ["churn_monitoring_daily"]
    assert "churn_landing" in churn.sensors


def test_every_expression_that_does_not_bind_is_named_at_once(tmp_path):
    broken = (
        TINY_SPEC.replace('clean: "lower(email)"', 'clean: "lower(e_mail)"')
        .replace("check: amount < 100000", "check: amount < max_amount")
        .replace(
            'birth_decade: "CAST(floor(year(birth_date) / 10) * 10 AS INTEGER)"',
            'birth_decade: "year(born_on)"',
        )
    )
    result = validate_product(_shop(tmp_path, broken), plan=False)

    assert not result.valid
    assert len(result.problems) == 3, result.problems
    by_field = {p.split(":", 1)[0]: p for p in result.problems}
    assert set(by_field) == {
        "sources.customers.columns.email.clean",
        "sources.customers.derive.birth_decade",
        "sources.orders.rules.no_giant_orders",
    }
    assert '"e_mail" not found' in by_field["sources.customers.columns.email.clean"]
    assert "max_amount" in by_field["sources.orders.rules.no_giant_orders"]
    assert not any("LINE 1" in p for p in result.problems)


def test_gold_sql_is_bound_against_silver_and_names_the_file_line(tmp_path):
    spec_text = TINY_SPEC.replace(
        """    sql: |
      SELECT c.country, sum(o.amount) AS revenue, count(*) AS orders
      FROM {{ silver.orders }} AS o JOIN {{ silver.customers }} AS c USING (customer_id)
      GROUP BY c.country""",
        "    sql_file: revenue.sql",
    )
    sql = (
        "SELECT c.country,\n"
        "       sum(o.amount_eur) AS revenue\n"
        "FROM {{ silver.orders }} AS o JOIN {{ silver.customers }} AS c USING (customer_id)\n"
        "GROUP BY c.country\n"
    )
    result = validate_product(_shop(tmp_path, spec_text, {"revenue.sql": sql}), plan=False)

    assert len(result.problems) == 1, result.problems
    problem = result.problems[0]
    assert problem.startswith("gold.revenue_by_country.sql_file (revenue.sql, line 2): ")
    assert "amount_eur" in problem


def test_model_columns_missing_from_the_gold_output_are_named(tmp_path):
    spec_text = TINY_SPEC + (
        "model:\n"
        "  table: revenue_by_country\n"
        "  target: churned\n"
        "  entity_key: country\n"
        "  time_column: day\n"
        "  features: [revenue, orders, basket_size]\n"
    )
    result = validate_product(_shop(tmp_path, spec_text), plan=False)

    fields = sorted(p.split(":", 1)[0] for p in result.problems)
    assert fields == ["model.features", "model.target", "model.time_column"]
    features = next(p for p in result.problems if p.startswith("model.features"))
    assert features.startswith("model.features: ['basket_size'] not among the columns")


def test_reference_problems_are_listed_together(tmp_path):
    spec_text = TINY_SPEC.replace("{{ silver.orders }}", "{{ silver.order_lines }}").replace(
        "references: customers.customer_id", "references: customers.id"
    )
    with pytest.raises(SpecError) as raised:
        load_spec(_shop(tmp_path, spec_text))

    message = str(raised.value)
    assert "(2 problem(s))" in message
    assert "  - gold.revenue_by_country.sql: unknown table silver.order_lines" in message
    assert "  - sources.orders.columns.customer_id.references: unknown column 'customers.id'" in (
        message
    )
    result = validate_product(_shop(tmp_path / "other", spec_text.replace("order_lines", "orders")))
    assert result.problems == [
        "sources.orders.columns.customer_id.references: unknown column 'customers.id'"
    ]


def test_cli_exit_codes(tmp_path, capsys):
    good = _shop(tmp_path / "good", TINY_SPEC)
    bad = _shop(tmp_path / "bad", TINY_SPEC.replace("check: amount < 100000", "check: nope > 1"))

    assert main(["validate", str(good)]) == 0
    assert "shop: valid" in capsys.readouterr().out
    assert main(["validate", "--quiet", str(good), str(bad)]) == 1
    out = capsys.readouterr().out
    assert "sources.orders.rules.no_giant_orders" in out
    assert "1 valid, 1 with problems" in out


def test_new_product_validates_generates_and_runs_as_is(tmp_path, capsys):
    products = tmp_path / "products"
    assert main(["new", "acme", "--dir", str(products)]) == 0
    assert "medallion validate" in capsys.readouterr().out
    result = validate_product(products / "acme" / "product.yaml")
    assert result.valid, result.problems
    assert "acme/gold/daily_sales" in result.plan.assets

    spec = load_spec(products / "acme" / "product.yaml")
    rows = run_generator(spec, tmp_path / "landing", days=10, seed=3)
    assert rows["orders"] > 100 and rows["customers"] > 10
    assert len(list((tmp_path / "landing" / "acme" / "orders").glob("orders_*.parquet"))) == 10
    settings = Settings(
        home=tmp_path,
        data=tmp_path / "data",
        warehouse=tmp_path / "data" / "warehouse.duckdb",
        landing=tmp_path / "landing",
        products=(products,),
    )
    with memory_instance() as instance:
        run = materialize_all([spec], settings, instance)
    assert run.success
    failed = [c for c in run.get_asset_check_evaluations() if not c.passed]
    assert failed == []
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        paid = con.execute(
            "SELECT count(*), sum(amount) FROM acme_silver.orders WHERE status = 'paid'"
        ).fetchone()
        gold = con.execute("SELECT sum(orders), sum(revenue) FROM acme_gold.daily_sales").fetchone()
    assert gold == paid


def test_new_refuses_a_bad_name_and_an_existing_folder(tmp_path):
    with pytest.raises(ScaffoldError, match="lower case"):
        scaffold_product("Acme", tmp_path)
    scaffold_product("acme", tmp_path)
    with pytest.raises(ScaffoldError, match="exists already"):
        scaffold_product("acme", tmp_path)


def test_file_references_load_beside_the_spec_and_errors_name_the_field(tmp_path):
    spec_text = TINY_SPEC.replace(
        "polars: medallion_tests.shop_transforms:orders_per_customer",
        "polars: transforms.py:per_customer",
    )
    transforms = (
        "import polars as pl\n\n"
        "def per_customer(inputs):\n"
        "    return inputs['silver.orders'].group_by('customer_id').agg(pl.len().alias('n'))\n"
    )
    path = _shop(tmp_path, spec_text, {"transforms.py": transforms})
    assert validate_product(path, plan=False).valid

    missing = _shop(tmp_path / "x", spec_text.replace(":per_customer", ":nothing_here"))
    write(missing.parent / "transforms.py", transforms)
    problems = validate_product(missing, plan=False).problems
    assert len(problems) == 1
    assert re.match(
        r"gold\.orders_per_customer\.polars: 'transforms.py' has no function 'nothing_here'",
        problems[0],
    )


def test_the_next_delivery_follows_the_last_delivered_day(tmp_path):
    scaffold_product("acme", tmp_path / "products")
    spec = load_spec(tmp_path / "products" / "acme" / "product.yaml")
    landing = tmp_path / "landing"
    assert next_delivery_day(landing, spec) == 60  # nothing delivered: the default window

    run_generator(spec, landing, days=5)
    assert next_delivery_day(landing, spec) == 5
    run_generator(spec, landing, days=9, deliver_days=[8])
    assert next_delivery_day(landing, spec) == 9
