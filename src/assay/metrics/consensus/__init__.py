"""Consensus: merge several annotators' results of one task into one, and Dawid–Skene.

Regions (axis-aligned boxes with labels) of the n annotators of a task are

1. **clustered** (`cluster_regions`): every pair of regions from *different* annotators with
   IoU >= `iou_threshold` is a candidate; candidates are taken in order of IoU (descending), ties
   broken by the regions' coordinates and labels (never by input order), and a candidate merges
   its two clusters when they share no annotator (at most one region per annotator per cluster)
   and the mean IoU over all cross pairs of the two clusters is >= `iou_threshold` (average
   linkage). Every region ends in exactly one cluster, possibly alone.
2. **kept** when their support (sum of the members' annotator weights) is >= quorum · the total
   weight of the task's n annotators; with uniform weights that is ceil(quorum · n) annotators.
3. **merged** (`merge_regions`): label by weighted vote (a tie is flagged and resolved to the
   smallest label), box by the weighted median of each coordinate, score = support fraction ×
   mean pairwise IoU of the members (1 for a single member).

Weights come from the caller (uniform; from each annotator's accuracy vs ground truth through
`reliability_weights`), or from a Dawid–Skene estimate over the labels of clusters across many
tasks (`dawid_skene`, `merge_many`). `merge_classifications` does majority / Dawid–Skene for
task-level classes. Exact formulas: docs/metrics.md, "Consensus".

Modules: `regions` (the input and result types), `clustering` (step 1), `merge` (steps 2-3
and `triage`), `weights` (vote weights), `dawid_skene_em` (the estimator), `classification`
(task-level classes), `project` (many tasks with one weight per annotator). This package's
names below are the public ones; the modules' other names serve the package and services.
"""

from __future__ import annotations

from assay.metrics.consensus.classification import ClassificationConsensus, merge_classifications
from assay.metrics.consensus.clustering import cluster_regions
from assay.metrics.consensus.dawid_skene_em import DawidSkeneResult, dawid_skene
from assay.metrics.consensus.merge import Triage, merge_regions, triage
from assay.metrics.consensus.project import ProjectConsensus, Weighting, merge_many
from assay.metrics.consensus.regions import (
    AnnotatorRegions,
    Clusters,
    ConsensusResult,
    MergedRegion,
)
from assay.metrics.consensus.weights import reliability_weights

__all__ = [
    "AnnotatorRegions",
    "ClassificationConsensus",
    "Clusters",
    "ConsensusResult",
    "DawidSkeneResult",
    "MergedRegion",
    "ProjectConsensus",
    "Triage",
    "Weighting",
    "cluster_regions",
    "dawid_skene",
    "merge_classifications",
    "merge_many",
    "merge_regions",
    "reliability_weights",
    "triage",
]
