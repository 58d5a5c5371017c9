"""Model cards: for every registered version, the evidence a third-party reviewer needs.

The card is rendered from what the version's MLflow run logged (params, tags, metrics) and
from the gate outcomes, never from separately computed numbers, so every figure on it can be
checked against the run. Markdown is the source; HTML is rendered from it; both are logged
as artifacts of the run (`model_card/`) and linked from the Dagster metadata.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mlflow import MlflowClient

from medallion import markdown
from medallion.ml.gates import GateOutcome
from medallion.ml.records import CandidateRecord
from medallion.spec import ProductSpec

ARTIFACT_DIR = "model_card"


@dataclass(frozen=True)
class CardLinks:
    """Where a version's card was logged."""

    markdown: str
    html: str


def _number(value: float) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    if float(value).is_integer() and abs(value) >= 1:
        return f"{int(value):,}".replace(",", "")
    return f"{value:.4f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return markdown.table(header, rows, lambda c: str(c).replace("|", "/")).splitlines()


def _metrics_section(spec: ProductSpec, metrics: dict[str, float]) -> list[str]:
    assert spec.model is not None
    rows = []
    for name in spec.model.metrics:
        if name not in metrics:
            continue
        low, high = metrics.get(f"ci95/{name}/low"), metrics.get(f"ci95/{name}/high")
        interval = f"{_number(low)} – {_number(high)}" if low is not None else "n/a"
        rows.append([f"`{name}`", _number(metrics[name]), interval])
    return [
        "## Holdout metrics",
        "",
        "95% intervals: percentile bootstrap of the holdout rows "
        f"({spec.model.bootstrap_resamples} resamples, seed {spec.model.seed}); logged as "
        "`ci95/<metric>/low|high`.",
        "",
        *_table(["metric", "value", "95% interval"], rows),
    ]


def group_rows(metrics: dict[str, float]) -> dict[tuple[str, str], dict[str, float]]:
    """(attribute, group) -> its logged metrics, from the `group/<attr>/<group>/<metric>`
    names."""
    groups: dict[tuple[str, str], dict[str, float]] = {}
    for key, value in metrics.items():
        parts = key.split("/")
        if len(parts) == 4 and parts[0] == "group":
            groups.setdefault((parts[1], parts[2]), {})[parts[3]] = value
    return dict(sorted(groups.items()))


def _groups_section(spec: ProductSpec, metrics: dict[str, float]) -> list[str]:
    assert spec.model is not None
    sizes = ["rows"] if spec.model.is_regression else ["rows", "positives"]
    columns = sizes + list(spec.model.metrics)
    rows = [
        [attribute, group, *[_number(values.get(c, math.nan)) for c in columns]]
        for (attribute, group), values in group_rows(metrics).items()
    ]
    return [
        "## Per group (holdout)",
        "",
        f"Groups of at least {spec.model.gates.bias_min_group_size} rows, at the decision "
        "threshold; logged as `group/<attribute>/<group>/<metric>`.",
        "",
        *_table(["attribute", "group", *columns], rows),
    ]


def _gates_section(gates: Sequence[GateOutcome]) -> list[str]:
    lines = ["## Gates", ""]
    lines += _table(
        ["gate", "verdict", "reason"],
        [[g.gate, "passed" if g.passed else "FAILED", g.summary] for g in gates],
    )
    for gate in gates:
        numbers = [f"{k} = {_number(v)}" for k, v in gate.observed.items()]
        limits = [f"{k} = {_number(v)}" for k, v in gate.thresholds.items()]
        lines += ["", f"- `{gate.gate}` observed: {', '.join(numbers) or 'none'}"]
        lines += [f"  limits: {', '.join(limits) or 'none'}"]
    return lines


def render_card(
    spec: ProductSpec,
    record: CandidateRecord,
    run,
    gates: Sequence[GateOutcome],
    alias: str,
    decision: str,
) -> str:
    """The card's Markdown, from the version's run (params, tags, metrics) and its gates."""
    assert spec.model is not None
    model, params, tags = spec.model, run.data.params, run.data.tags
    metrics = run.data.metrics
    use = model.intended_use or spec.description or "(no intended use declared in the spec)"
    lines = [
        f"# Model card: {spec.name} v{record.version} ({record.variant})",
        "",
        f"**Product**: {spec.name}. {spec.description or ''}",
        "",
        f"**Intended use**: {use}",
        "",
        f"**Task**: {model.task}, target `{model.target}`, {len(model.features)} features, "
        f"sensitive attributes: {', '.join(model.sensitive) or 'none'}.",
        "",
        *_provenance_section(record, params, tags),
        *_threshold_section(params),
        *_metrics_section(spec, metrics),
        "",
        *_groups_section(spec, metrics),
        "",
        *_gates_section(gates),
        "",
        "## Promotion",
        "",
        f"Alias after this promotion: **{alias}**. Decision: {decision}",
        "",
    ]
    return "\n".join(lines)


def _provenance_section(record: CandidateRecord, params: dict, tags: dict) -> list[str]:
    """Where the version comes from: run, data, code, spec, windows and seed."""
    return [
        "## Provenance",
        "",
        *_table(
            ["what", "value"],
            [
                ["MLflow run", f"`{record.run_id}`"],
                ["estimator", f"`{params.get('estimator', '?')}`"],
                ["data version (snapshot hash)", f"`{tags.get('data_version', '?')}`"],
                [
                    "gold table / version",
                    f"`{tags.get('gold_table')}` / `{tags.get('gold_version')}`",
                ],
                ["code version", f"`{tags.get('code_version', '?')}`"],
                ["spec hash", f"`{tags.get('spec_hash', '?')}`"],
                ["training fingerprint", f"`{record.fingerprint}`"],
                ["seed", params.get("seed", "?")],
                [
                    "training window",
                    f"{params.get('train_start')} .. {params.get('train_end')} "
                    f"({params.get('train_rows')} rows, the model fitted on the "
                    f"{params.get('fit_rows', params.get('train_rows'))} before the validation "
                    "days)",
                ],
                [
                    "validation days (threshold)",
                    f"{params.get('validation_start') or 'none'} .. "
                    f"{params.get('validation_end') or ''} ({params.get('validation_rows', 0)} rows)",
                ],
                [
                    "holdout",
                    f"{params.get('holdout_start')} .. {params.get('holdout_end')} "
                    f"({params.get('holdout_rows')} rows)",
                ],
            ],
        ),
        "",
    ]


def _threshold_section(params: dict[str, str]) -> list[str]:
    if "decision_threshold" not in params:
        return []
    return [
        "## Decision threshold",
        "",
        f"**{float(params['decision_threshold']):.4f}**, rule `{params.get('threshold_rule')}`: "
        f"{params.get('threshold_reason', '')}. Served, evaluated and bias-tested at this "
        "threshold (param `decision_threshold`).",
        "",
    ]


def to_html(markdown: str, title: str) -> str:
    """The card as a standalone HTML page."""
    import mistune

    body = mistune.create_markdown(plugins=["table"])(markdown)
    style = (
        "body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
        f"<style>{style}</style></head><body>{body}</body></html>"
    )


def write_card(
    client: MlflowClient,
    spec: ProductSpec,
    record: CandidateRecord,
    gates: Sequence[GateOutcome],
    alias: str,
    decision: str,
) -> CardLinks:
    """Render the card of one version and log it (Markdown and HTML) to its run."""
    run = client.get_run(record.run_id)
    markdown = render_card(spec, record, run, gates, alias, decision)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "model_card.md").write_text(markdown, encoding="utf-8")
        title = f"{spec.name} v{record.version}"
        (folder / "model_card.html").write_text(to_html(markdown, title), encoding="utf-8")
        client.log_artifacts(record.run_id, str(folder), ARTIFACT_DIR)
    base = f"{run.info.artifact_uri.rstrip('/')}/{ARTIFACT_DIR}"
    return CardLinks(markdown=f"{base}/model_card.md", html=f"{base}/model_card.html")
