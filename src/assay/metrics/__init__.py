"""Pure numpy metrics: matching, conflicts, scores, confusion, agreement (and COCO AP).

Naming rule (scikit-learn's): `*_score` is higher-is-better. Functions take arrays and return
arrays or frozen dataclasses; nothing here imports the store or the web framework, and nothing
keeps state between calls. Formulas and conventions: docs/metrics.md.
"""

from __future__ import annotations

from typing import Any

from assay.metrics.agreement import (
    agreement_matrix,
    category_counts,
    cohen_kappa_matrix,
    cohen_kappa_score,
    fleiss_kappa_score,
    krippendorff_alpha_score,
    region_reliability_data,
    reliability_matrix,
    task_agreement_matrix,
    task_agreement_score,
)
from assay.metrics.conflicts import ConflictKind, Conflicts, find_conflicts
from assay.metrics.confusion import (
    UNMATCHED,
    confusion_matrix,
    confusion_matrix_batch,
    encode_labels,
)
from assay.metrics.matching import BatchMatching, Matching, MatchMethod, match_batch, match_regions
from assay.metrics.scores import (
    Aggregate,
    Counts,
    CountTable,
    accuracy_score,
    aggregate,
    choices_indicator,
    count_batch,
    count_matches,
    exact_match_score,
    f1_score,
    jaccard_score,
    label_counts,
    label_counts_batch,
    precision_score,
    recall_score,
    wilson_interval,
)

__all__ = [
    "UNMATCHED",
    "Aggregate",
    "AnnotatorRegions",
    "BatchMatching",
    "ClassificationConsensus",
    "Clusters",
    "ConflictKind",
    "Conflicts",
    "ConsensusResult",
    "CountTable",
    "Counts",
    "DawidSkeneResult",
    "MatchMethod",
    "Matching",
    "MergedRegion",
    "ProjectConsensus",
    "accuracy_score",
    "aggregate",
    "agreement_matrix",
    "category_counts",
    "choices_indicator",
    "cluster_regions",
    "coco_evaluate",
    "cohen_kappa_matrix",
    "cohen_kappa_score",
    "confusion_matrix",
    "confusion_matrix_batch",
    "count_batch",
    "count_matches",
    "dawid_skene",
    "encode_labels",
    "exact_match_score",
    "f1_score",
    "find_conflicts",
    "fleiss_kappa_score",
    "jaccard_score",
    "krippendorff_alpha_score",
    "label_counts",
    "label_counts_batch",
    "match_batch",
    "match_regions",
    "merge_classifications",
    "merge_many",
    "merge_regions",
    "precision_score",
    "recall_score",
    "region_reliability_data",
    "reliability_matrix",
    "reliability_weights",
    "task_agreement_matrix",
    "task_agreement_score",
    "triage",
    "wilson_interval",
]

# Consensus (assay.metrics.consensus, issue #10): loaded on first use, like coco_evaluate.
_CONSENSUS = frozenset(
    {
        "AnnotatorRegions",
        "ClassificationConsensus",
        "Clusters",
        "ConsensusResult",
        "DawidSkeneResult",
        "MergedRegion",
        "ProjectConsensus",
        "cluster_regions",
        "dawid_skene",
        "merge_classifications",
        "merge_many",
        "merge_regions",
        "reliability_weights",
        "triage",
    }
)


def __getattr__(name: str) -> Any:
    # COCO evaluation lives in assay.metrics.coco (its own module and owner); loaded on first
    # use so that importing assay.metrics stays light.
    if name == "coco_evaluate":
        from assay.metrics.coco import coco_evaluate

        return coco_evaluate
    if name in _CONSENSUS:
        from assay.metrics import consensus

        return getattr(consensus, name)
    raise AttributeError(f"module 'assay.metrics' has no attribute {name!r}")
