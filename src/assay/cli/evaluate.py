"""`assay evaluate`: score annotators and models against ground truth from files, no server."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from assay.cli.common import fail, out

if TYPE_CHECKING:
    from assay.metrics import Counts


def evaluate(
    gt: Path = typer.Option(
        ..., "--gt", help="Ground truth: a Label Studio JSON export, or COCO JSON with --coco."
    ),
    pred: Path = typer.Option(
        ..., "--pred", help="Label Studio JSON export to score, or COCO detections with --coco."
    ),
    coco: bool = typer.Option(
        False, "--coco", help="COCO bbox mAP (the 12 standard stats and per-class AP)."
    ),
    iou_threshold: float = typer.Option(
        0.5, help="IoU at which regions match (Label Studio files)."
    ),
    label_aware: bool = typer.Option(True, help="Match only regions of the same label."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV instead of a table."),
) -> None:
    """Score annotators and models against ground truth from files, without a server."""
    from assay.metrics.evaluate_exports import ExportError, evaluate_exports
    from assay.metrics.scoring import QualitySettings

    for path in (gt, pred):
        if not path.is_file():
            fail(f"{path} does not exist")
    if coco:
        _evaluate_coco(gt, pred, as_json, as_csv)
        return
    try:
        gt_data, pred_data = (json.loads(p.read_text(encoding="utf-8")) for p in (gt, pred))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        fail(f"not valid JSON: {exc}")
    try:
        rows = evaluate_exports(
            gt_data,
            pred_data,
            QualitySettings(iou_threshold=iou_threshold, label_aware=label_aware),
        )
    except ExportError as exc:
        fail(str(exc))
    table = [
        {
            "kind": r.kind,
            "name": r.name,
            "scored": r.scored,
            **_scores(r.counts),
            "mean_accuracy": round(r.mean_accuracy, 4),
        }
        for r in rows
    ]
    _print_table(table, "Scores against ground truth", as_json, as_csv)


def _scores(c: Counts) -> dict[str, object]:

    out: dict[str, object] = {"tp": c.tp, "fp": c.fp, "fn": c.fn}
    for name in ("precision", "recall", "f1", "accuracy"):
        out[name] = round(float(getattr(c, name)), 4)
    return out


def _print_table(rows: list[dict[str, object]], title: str, as_json: bool, as_csv: bool) -> None:
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    if as_csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else ["empty"])
        writer.writeheader()
        writer.writerows(rows)
        return
    table = Table(title=title)
    for name in rows[0] if rows else ["empty"]:
        table.add_column(
            name, justify="left" if name in ("kind", "name", "stat", "category") else "right"
        )
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    out.print(table)


def _evaluate_coco(gt: Path, pred: Path, as_json: bool, as_csv: bool) -> None:
    from assay.formats.coco import CocoFormatError
    from assay.metrics import coco_evaluate

    try:
        result = coco_evaluate(gt, pred)
    except (CocoFormatError, ValueError) as exc:
        fail(str(exc))
    stats = [
        {"stat": n, "value": round(float(v), 6)}
        for n, v in zip(result.stat_names, result.stats, strict=True)
    ]
    classes = [
        {"category": f"{c.category_id} {c.name}", "ap": round(c.ap, 6), "ap50": round(c.ap50, 6),
         "ap75": round(c.ap75, 6), "gt": c.num_gt, "detections": c.num_dets}
        for c in result.per_class.values()
    ]  # fmt: skip
    if as_json:
        print(
            json.dumps(
                {"stats": {s["stat"]: s["value"] for s in stats}, "per_class": classes}, indent=2
            )
        )
        return
    _print_table(stats, "COCO bbox", False, as_csv)
    if not as_csv:
        _print_table(classes, "Per class (area all, 100 detections)", False, False)
