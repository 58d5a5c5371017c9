"""The spec loads the demo and the tiny product, and every malformed spec names file, field, problem."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from medallion.settings import PACKAGE_PRODUCTS
from medallion.spec import SpecError, load_spec, load_specs
from medallion_tests.conftest import TINY_SPEC, write


def _broken(tmp_path: Path, mutate) -> Path:
    raw = yaml.safe_load(TINY_SPEC)
    mutate(raw)
    return write(tmp_path / "bad" / "product.yaml", yaml.safe_dump(raw, sort_keys=False))


def test_demo_spec_loads_with_its_sql_file():
    spec = load_spec(PACKAGE_PRODUCTS / "churn" / "product.yaml")
    assert spec.name == "churn"
    assert set(spec.sources) == {
        "customers",
        "subscriptions",
        "usage_events",
        "payments",
        "support_tickets",
    }
    assert {s.format for s in spec.sources.values()} == {"csv", "parquet", "json"}
    assert spec.sources["customers"].pii_columns == ["full_name", "email", "phone", "date_of_birth"]
    assert set(spec.gold_inputs("customer_features")) == {
        ("silver", "usage_events"),
        ("silver", "subscriptions"),
        ("silver", "payments"),
        ("silver", "support_tickets"),
        ("silver", "customers"),
    }
    bounds = {"window_start": "2026-01-01", "window_end": "2026-02-01"}
    rendered = spec.render_sql("customer_features", {**bounds, "history_start": "2025-10-01"})
    assert "{{" not in rendered
    assert "churn_silver.usage_events" in rendered
    assert "_gold_changed_keys_customer_features" in rendered
    assert len(spec.model.features) >= 15


def test_tiny_spec_tables_and_refs(spec):
    assert spec.table("silver", "orders") == "shop_silver.orders"
    assert spec.gold_inputs("revenue_by_country") == [("silver", "orders"), ("silver", "customers")]
    assert spec.gold_inputs("orders_per_customer") == [("silver", "orders")]
    assert spec.sources["orders"].required_columns == [
        "order_id",
        "customer_id",
        "ordered_at",
        "amount",
    ]


@pytest.mark.parametrize(
    ("mutate", "field", "problem"),
    [
        (
            lambda r: r["sources"]["orders"]["columns"]["amount"].update(type="MONEY"),
            "sources.orders.columns.amount.type",
            "unsupported type 'MONEY'",
        ),
        (
            lambda r: r["sources"]["orders"].update(key=["order_no"]),
            "sources.orders",
            "key column(s) ['order_no'] are not declared",
        ),
        (lambda r: r["sources"]["orders"].pop("format"), "sources.orders.format", "Field required"),
        (
            lambda r: r["sources"]["orders"].update(format="xlsx"),
            "sources.orders.format",
            "'csv', 'parquet' or 'json'",
        ),
        (
            lambda r: r["sources"]["orders"]["columns"]["amount"].update(requird=True),
            "sources.orders.columns.amount.requird",
            "Extra inputs are not permitted",
        ),
        (lambda r: r.update(name="My Shop"), "name", "product name 'My Shop' must be lower case"),
        (
            lambda r: r["sources"]["customers"]["columns"]["customer_id"].update(pii=True),
            "sources.customers",
            "cannot be PII",
        ),
        (
            lambda r: r["gold"]["revenue_by_country"].update(polars="x:y"),
            "gold.revenue_by_country",
            "exactly one of sql, sql_file or polars",
        ),
        (
            lambda r: r["gold"]["orders_per_customer"].pop("inputs"),
            "gold.orders_per_customer",
            "needs its inputs",
        ),
        (
            lambda r: r["sources"]["customers"]["columns"]["updated_at"].update(pii=True),
            "sources.customers",
            "version_column 'updated_at' cannot be PII",
        ),
        (
            lambda r: r["sources"]["orders"].update(time_column="shipped_at"),
            "sources.orders",
            "time_column 'shipped_at' is not a declared or derived column",
        ),
        (
            lambda r: r["gold"]["revenue_by_country"].update(incremental={"time_column": "day"}),
            "partitions_start",
            "required, since gold ['revenue_by_country'] are incremental",
        ),
        (
            lambda r: r["gold"]["revenue_by_country"].update(incremental={"lookback_days": 3}),
            "gold.revenue_by_country.incremental.time_column",
            "Field required",
        ),
        (
            lambda r: r["sources"]["orders"].update(timezone="Mars/Olympus"),
            "sources.orders.timezone",
            "unknown time zone 'Mars/Olympus'",
        ),
        (
            lambda r: r["sources"]["orders"]["columns"]["ordered_at"].update(formats=["YYYY"]),
            "sources.orders.columns.ordered_at.formats",
            "formats must be strptime formats",
        ),
        (
            lambda r: r["sources"]["orders"].update(quiet_seconds=-1),
            "sources.orders.quiet_seconds",
            "greater than or equal to 0",
        ),
    ],
)
def test_invalid_field_is_named_with_file_and_problem(tmp_path, mutate, field, problem):
    path = _broken(tmp_path, mutate)
    with pytest.raises(SpecError) as error:
        load_spec(path)
    message = str(error.value)
    assert str(path) in message
    assert f"{field}:" in message
    assert problem in message


def test_unknown_ref_in_gold_sql(tmp_path):
    path = _broken(
        tmp_path,
        lambda r: r["gold"]["revenue_by_country"].update(
            sql="SELECT * FROM {{ silver.shipments }}"
        ),
    )
    with pytest.raises(
        SpecError, match=r"gold\.revenue_by_country\.sql: unknown table silver\.shipments"
    ):
        load_spec(path)


def test_cycle_between_gold_products(tmp_path):
    def mutate(raw):
        raw["gold"] = {
            "a": {"grain": ["x"], "sql": "SELECT * FROM {{ gold.b }}"},
            "b": {"grain": ["x"], "sql": "SELECT * FROM {{ gold.a }}"},
        }

    with pytest.raises(SpecError, match=r"cycle between gold products: a -> b -> a"):
        load_spec(_broken(tmp_path, mutate))


def test_missing_sql_file(tmp_path):
    path = _broken(
        tmp_path, lambda r: r["gold"]["revenue_by_country"].update(sql=None, sql_file="nope.sql")
    )
    with pytest.raises(SpecError, match=r"gold\.revenue_by_country\.sql_file: file not found"):
        load_spec(path)


def test_not_yaml_and_not_a_mapping(tmp_path):
    bad = write(tmp_path / "a" / "product.yaml", "name: [unclosed\n")
    with pytest.raises(SpecError, match=r"not valid YAML at line 2, column 1: expected"):
        load_spec(bad)
    listing = write(tmp_path / "b" / "product.yaml", "- a\n- b\n")
    with pytest.raises(SpecError, match="must be a mapping"):
        load_spec(listing)
    with pytest.raises(SpecError, match="spec file not found"):
        load_spec(tmp_path / "missing.yaml")


def test_two_products_with_one_name_are_refused(spec_path, tmp_path):
    copy = write(tmp_path / "other" / "product.yaml", spec_path.read_text())
    with pytest.raises(SpecError, match=r"name: product 'shop' also declared in"):
        load_specs([spec_path, copy])


def test_two_products_may_share_source_names(spec_path, tmp_path):
    raw = yaml.safe_load(TINY_SPEC)
    raw["name"] = "other_shop"
    other = write(tmp_path / "other" / "product.yaml", yaml.safe_dump(raw))
    shop, other_shop = load_specs([spec_path, other])
    assert set(shop.sources) == set(other_shop.sources)
    assert shop.landing(tmp_path) == tmp_path / "shop"
    assert other_shop.landing(tmp_path) == tmp_path / "other_shop"


DELIVERIES = PACKAGE_PRODUCTS / "deliveries" / "product.yaml"


def _deliveries(tmp_path: Path, mutate) -> Path:
    raw = yaml.safe_load(DELIVERIES.read_text(encoding="utf-8"))
    mutate(raw)
    folder = tmp_path / "deliveries"
    folder.mkdir(exist_ok=True)
    for sql in DELIVERIES.parent.glob("*.sql"):
        (folder / sql.name).write_text(sql.read_text(encoding="utf-8"), encoding="utf-8")
    return write(folder / "product.yaml", yaml.safe_dump(raw, sort_keys=False))


def test_regression_model_gets_its_task_defaults():
    model = load_spec(DELIVERIES).model
    assert model.task == "regression" and model.is_regression
    assert model.primary_metric == "rmse" and model.decision_threshold is None
    assert model.metrics == ("rmse", "mae", "r2", "median_ae")
    assert model.gates.bias_max_difference is None
    assert model.gates.bias_max_mae_ratio == 1.6
    churn = load_spec(PACKAGE_PRODUCTS / "churn" / "product.yaml").model
    assert (churn.primary_metric, churn.decision_threshold) == ("roc_auc", 0.5)
    assert churn.gates.bias_max_difference == 0.1 and churn.gates.bias_max_mae_ratio is None
    assert churn.threshold_rule == "max_f1" and model.threshold_rule is None
    assert (churn.gates.min_recall, churn.gates.min_lift) == (0.2, 1.5)
    assert model.gates.min_recall is None and model.gates.min_lift is None


def test_regression_defaults_when_nothing_is_stated(tmp_path):
    def bare(raw):
        raw["model"].pop("primary_metric")
        raw["model"]["gates"] = {}

    model = load_spec(_deliveries(tmp_path, bare)).model
    assert model.primary_metric == "rmse"
    assert model.gates.bias_max_mae_ratio == 1.25
    assert model.gates.bias_max_mae_difference is None


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (
            lambda r: r["model"]["variants"]["ridge"].update(estimator="random_forest"),
            "model: variants.ridge.estimator: 'random_forest' is not a regression estimator; "
            "use one of ridge, random_forest_regressor, hist_gradient_boosting_regressor",
        ),
        (
            lambda r: r["model"].update(primary_metric="roc_auc"),
            "model: primary_metric 'roc_auc' is not a regression metric; "
            "use one of rmse, mae, r2, median_ae",
        ),
        (
            lambda r: r["model"].update(decision_threshold=0.5),
            "model: decision_threshold and threshold_rule apply to classification only",
        ),
        (
            lambda r: r["model"]["gates"].update(min_recall=0.2),
            "model: gates.min_recall bounds a classifier's decisions at its threshold",
        ),
        (
            lambda r: r["model"]["gates"].update(bias_max_difference=0.1),
            "model: gates.bias_max_difference bounds rates of a classifier",
        ),
        (
            lambda r: r["model"].update(task="forecasting"),
            "model.task: Input should be 'classification' or 'regression'",
        ),
        (
            lambda r: r["model"].pop("table"),
            "model.table: Field required",
        ),
        (
            lambda r: r["monitoring"].pop("performance_warn_drop"),
            "monitoring.performance_warn_drop: required for a rmse model, in the units of "
            "delay_hours",
        ),
    ],
)
def test_a_wrong_regression_spec_names_file_field_and_problem(tmp_path, mutate, problem):
    path = _deliveries(tmp_path, mutate)
    with pytest.raises(SpecError) as error:
        load_spec(path)
    assert str(path) in str(error.value)
    assert problem in str(error.value)


def test_regression_bounds_are_refused_for_a_classifier(tmp_path):
    raw = yaml.safe_load((PACKAGE_PRODUCTS / "churn" / "product.yaml").read_text("utf-8"))
    raw["model"]["gates"]["bias_max_mae_ratio"] = 1.5
    folder = tmp_path / "churn"
    folder.mkdir()
    for sql in (PACKAGE_PRODUCTS / "churn").glob("*.sql"):
        (folder / sql.name).write_text(sql.read_text(encoding="utf-8"), encoding="utf-8")
    path = write(folder / "product.yaml", yaml.safe_dump(raw, sort_keys=False))
    with pytest.raises(
        SpecError, match=r"gates\.bias_max_mae_ratio bounds the errors of a regression"
    ):
        load_spec(path)


def test_a_task_default_survives_a_round_trip():
    """Specs are copied with model_dump / model_validate (tests, tools): the filled-in defaults
    must validate again."""
    for name in ("churn", "deliveries"):
        spec = load_spec(PACKAGE_PRODUCTS / name / "product.yaml")
        again = type(spec.model).model_validate(spec.model.model_dump())
        assert again == spec.model


def test_incremental_gold_reads_silver_only(tmp_path):
    def mutate(raw):
        raw["partitions_start"] = "2026-01-01"
        raw["gold"]["orders_per_customer"].update(
            inputs=["bronze.orders"], incremental={"time_column": "day"}
        )

    path = _broken(tmp_path, mutate)
    with pytest.raises(SpecError, match="incremental: an incremental product reads silver only"):
        load_spec(path)


def test_window_bounds_render_as_dates(tmp_path):
    raw = yaml.safe_load(TINY_SPEC)
    raw["gold"]["revenue_by_country"]["sql"] = (
        "SELECT * FROM {{ silver.orders }} WHERE ordered_at >= {{ window_start }} "
        "AND ordered_at < {{window_end}}"
    )
    spec = load_spec(write(tmp_path / "w" / "product.yaml", yaml.safe_dump(raw)))
    sql = spec.render_sql(
        "revenue_by_country", {"window_start": "2026-01-02", "window_end": "2026-01-05"}
    )
    assert sql.endswith("ordered_at >= DATE '2026-01-02' AND ordered_at < DATE '2026-01-05'")
