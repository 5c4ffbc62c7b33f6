"""The sums behind every quality table (`quality_aggregates`): per annotator, model version, job
and project, per label and over all labels, moved by the difference of each rescore."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from assay.store.models import QualityAggregate

AggKey = tuple[str, str, str]  # (group_kind, group_key, label)


AGG_FIELDS = ("n", "tp", "fp", "fn", "matched", "iou_sum", "accuracy_sum")


def _contributions(row: dict[str, Any], sign: int) -> Iterator[tuple[AggKey, tuple[float, ...]]]:
    """What one score adds to (sign=1) or takes from (sign=-1) each aggregate it belongs to."""
    kind = "annotator" if row["subject_kind"] == "annotation" else "model"
    total = "annotations" if kind == "annotator" else "predictions"
    groups = [(kind, row["subject_key"]), (total, "")]
    if row["job_id"] is not None:
        groups.append(("job", str(row["job_id"])))
    whole = (1, row["tp"], row["fp"], row["fn"], row["matched"], row["iou_sum"], row["accuracy"])
    for gk, key in groups:
        yield (gk, key, ""), tuple(sign * v for v in whole)
        for label, (tp, fp, fn, matched, iou_sum) in row["labels"].items():
            acc = tp / (tp + fp + fn) if tp + fp + fn else 1.0
            yield (gk, key, label), tuple(sign * v for v in (1, tp, fp, fn, matched, iou_sum, acc))


def apply_deltas(session: Session, project_id: int, deltas: dict[AggKey, list[float]]) -> None:
    """Add the deltas to the aggregate rows in one multi-row upsert."""
    rows = [
        {
            "project_id": project_id,
            "group_kind": gk,
            "group_key": key,
            "label": label,
            **dict(zip(AGG_FIELDS, d, strict=True)),
        }
        # in key order: concurrent rescores of different tasks lock the project's shared rows
        # (its totals) in one order, so they queue instead of deadlocking
        for (gk, key, label), d in sorted(deltas.items())
        if any(d)
    ]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(QualityAggregate)
    stmt = stmt.on_conflict_do_update(
        index_elements=["project_id", "group_kind", "group_key", "label"],
        set_={f: getattr(QualityAggregate, f) + getattr(stmt.excluded, f) for f in AGG_FIELDS},
    )
    for i in range(0, len(rows), 1000):
        session.execute(stmt, rows[i : i + 1000])


def sum_contributions(
    rows: Iterable[dict[str, Any]], sign: int, into: dict[AggKey, list[float]]
) -> None:
    """Add every row's `_contributions` to `into`, vectorised over rows.

    The very floats of adding them one at a time: each aggregate's values are summed left to
    right in row order starting from its current value (`np.bincount` adds its weights in
    order), and keys new to `into` are added in the order the rows first name them.
    """
    rows = list(rows)
    if not rows:
        return
    # Slots: per row its whole counts (label "") then its labels in dict order; values (S, 7)
    # as AGG_FIELDS: n, tp, fp, fn, matched, iou_sum, accuracy.
    items = [(r, label, v) for r, row in enumerate(rows) for label, v in row["labels"].items()]
    n_rows, n_items = len(rows), len(items)
    whole = np.array(
        [(1, w["tp"], w["fp"], w["fn"], w["matched"], w["iou_sum"], w["accuracy"]) for w in rows],
        dtype=np.float64,
    ).reshape(n_rows, len(AGG_FIELDS))
    per_label = np.ones((n_items, len(AGG_FIELDS)))
    if n_items:
        counts = np.array([v for _, _, v in items], dtype=np.float64)
        if counts.shape != (n_items, 5):
            raise ValueError("score labels must map to [tp, fp, fn, matched, iou_sum]")
        per_label[:, 1:6] = counts
        tp, total = per_label[:, 1], per_label[:, 1:4].sum(axis=1)
        np.divide(tp, total, out=per_label[:, 6], where=total != 0)  # 1.0 where nothing at all
    values = np.concatenate([whole, per_label]) * sign
    label_ids: dict[str, int] = {"": 0}
    slot_row = np.array([*range(n_rows), *(r for r, _, _ in items)], dtype=np.int64)
    slot_label = np.array(
        [0] * n_rows + [label_ids.setdefault(label, len(label_ids)) for _, label, _ in items],
        dtype=np.int64,
    )
    # Groups: per row (kind, key), (total, "") and ("job", id) unless it has no job (-1).
    group_ids: dict[tuple[str, str], int] = {}
    row_groups = np.array(
        [
            (
                group_ids.setdefault(_group(row), len(group_ids)),
                group_ids.setdefault(_total(row), len(group_ids)),
                -1
                if row["job_id"] is None
                else group_ids.setdefault(("job", str(row["job_id"])), len(group_ids)),
            )
            for row in rows
        ],
        dtype=np.int64,
    )
    # Events, one per (row, group, slot), in the order of the one-at-a-time loop.
    n_slots = len(slot_row)
    ev_slot = np.tile(np.arange(n_slots), 3)
    ev_j = np.repeat(np.arange(3), n_slots)
    ev_group = row_groups[slot_row[ev_slot], ev_j]
    real = ev_group >= 0
    ev_slot, ev_j, ev_group = ev_slot[real], ev_j[real], ev_group[real]
    order = np.lexsort((ev_slot, ev_j, slot_row[ev_slot]))
    ev_slot, ev_group = ev_slot[order], ev_group[order]
    key = ev_group * len(label_ids) + slot_label[ev_slot]
    uniq, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    groups, labels = list(group_ids), list(label_ids)
    names = [
        (*groups[g], labels[lab])
        for g, lab in zip(*(x.tolist() for x in np.divmod(uniq, len(labels))), strict=True)
    ]
    zero = [0.0] * len(AGG_FIELDS)
    current = np.array([into.get(k, zero) for k in names], dtype=np.float64)
    bins = np.concatenate([np.arange(len(uniq)), inverse.reshape(-1)])
    weights = np.concatenate([current, values[ev_slot]])
    sums = np.stack(
        [np.bincount(bins, weights=weights[:, f], minlength=len(uniq)) for f in range(len(zero))],
        axis=1,
    ).tolist()
    for u in np.argsort(first, kind="stable").tolist():
        into[names[u]] = sums[u]


def _group(row: dict[str, Any]) -> tuple[str, str]:
    """A score's own group (annotator or model) and key, as in `_contributions`."""
    return ("annotator" if row["subject_kind"] == "annotation" else "model", row["subject_key"])


def _total(row: dict[str, Any]) -> tuple[str, str]:
    """A score's project-wide group, as in `_contributions`."""
    return ("annotations" if row["subject_kind"] == "annotation" else "predictions", "")
