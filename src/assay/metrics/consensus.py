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
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from assay.geometry.boxes import check_boxes, iou_matrix
from assay.geometry.types import BoolArray, Boxes, FloatArray, IntArray, Labels

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

Weighting = Literal["uniform", "accuracy", "dawid_skene"]
Triage = Literal["accept", "adjudicate", "keep"]
WEIGHTINGS: tuple[Weighting, ...] = ("uniform", "accuracy", "dawid_skene")
_EPS = 1e-10  # floor of probabilities in Dawid–Skene (crowd-kit's)
_TIE = 1e-9  # relative tolerance for equal votes and for the quorum comparison


def _frozen(*arrays: npt.NDArray[Any]) -> None:
    for a in arrays:
        a.setflags(write=False)


def _check_unit(value: float, name: str, *, low_open: bool = True) -> float:
    """`value` as float in (0, 1] (or [0, 1] with low_open=False); ValueError naming `name`."""
    v = float(value)
    ok = (0.0 < v <= 1.0) if low_open else (0.0 <= v <= 1.0)
    if not ok:
        interval = "(0, 1]" if low_open else "[0, 1]"
        raise ValueError(f"{name} must be in {interval}, got {value!r}")
    return v


# ---------------------------------------------------------------------------------------------
# Input and output types


@dataclass(frozen=True, eq=False)
class AnnotatorRegions:
    """One annotator's regions of a task: boxes (k, 4) float64 xyxy in pixels, labels (k,).

    Labels are names (str) or codes (int), one kind per task. Arrays are copied, read-only.
    """

    boxes: Boxes
    labels: Labels

    def __post_init__(self) -> None:
        boxes = check_boxes(self.boxes).copy()
        if boxes.ndim != 2:
            raise ValueError(f"boxes must have shape (k, 4), got {boxes.shape}")
        labels = np.array(self.labels)
        if labels.dtype == object and labels.size:
            labels = np.array(labels.tolist())  # homogeneous names or codes
        if labels.size == 0:
            labels = labels.reshape(0)
        if labels.shape != (len(boxes),):
            raise ValueError(f"labels must have shape ({len(boxes)},), got {labels.shape}")
        object.__setattr__(self, "boxes", boxes)
        object.__setattr__(self, "labels", labels)
        _frozen(boxes, labels)

    def __len__(self) -> int:
        return len(self.boxes)


@dataclass(frozen=True)
class MergedRegion:
    """One consensus region, the row form of `ConsensusResult` (see there for the fields)."""

    box: tuple[float, float, float, float]
    label: Any
    score: float
    support: int
    support_fraction: float
    members: tuple[int, ...]
    tied: bool


@dataclass(frozen=True, eq=False)
class ConsensusResult:
    """The consensus of one task's n annotations: K kept regions, sorted by (box, label).

    boxes: (K, 4) float64 xyxy, the weighted median of the members' coordinates.
    labels: (K,) the winning label of each region.
    score: (K,) float64 in [0, 1], support_fraction × mean pairwise IoU of the members.
    support: (K,) int64 number of annotators with a region in the cluster.
    support_fraction: (K,) float64, the members' weight / the total weight of the n annotators.
    members: (K, n) int64, the index of annotator a's region in cluster k, -1 if none.
    tied_regions: (K,) bool, the label vote of the region was tied (resolved to the smallest).
    annotator_agreement: (n,) float64, F1 of each annotator against the consensus.
    agreement: float, the mean of annotator_agreement.
    n_dropped: clusters below the quorum.
    Arrays are read-only.
    """

    boxes: Boxes
    labels: Labels
    score: FloatArray
    support: IntArray
    support_fraction: FloatArray
    members: IntArray
    tied_regions: BoolArray
    annotator_agreement: FloatArray
    agreement: float
    n_dropped: int

    def __post_init__(self) -> None:
        _frozen(
            self.boxes,
            self.labels,
            self.score,
            self.support,
            self.support_fraction,
            self.members,
            self.tied_regions,
            self.annotator_agreement,
        )

    def __len__(self) -> int:
        return len(self.boxes)

    @property
    def tied(self) -> bool:
        """True when any region's label vote was tied."""
        return bool(self.tied_regions.any())

    def regions(self) -> list[MergedRegion]:
        """The K regions as `MergedRegion` rows."""
        return [
            MergedRegion(
                box=(float(b[0]), float(b[1]), float(b[2]), float(b[3])),
                label=self.labels[k].item(),
                score=float(self.score[k]),
                support=int(self.support[k]),
                support_fraction=float(self.support_fraction[k]),
                members=tuple(int(m) for m in self.members[k]),
                tied=bool(self.tied_regions[k]),
            )
            for k, b in enumerate(self.boxes)
        ]


@dataclass(frozen=True, eq=False)
class Clusters:
    """All C clusters of one task's regions (before any quorum), from `cluster_regions`.

    annotations: the n annotators' inputs, as given.
    members: (C, n) int64, annotator a's region index in cluster c, -1 if none; rows sorted by
        the members' coordinates and labels (independent of the annotators' order).
    mean_iou: (C,) float64, mean pairwise IoU of the members; 1.0 for a single member.
    iou_threshold: the threshold used.
    """

    annotations: tuple[AnnotatorRegions, ...]
    members: IntArray
    mean_iou: FloatArray
    iou_threshold: float

    def __post_init__(self) -> None:
        _frozen(self.members, self.mean_iou)

    def __len__(self) -> int:
        return len(self.members)

    def label_codes(self, vocabulary: Sequence[Any]) -> IntArray:
        """(C, n) int64: annotator a's label in cluster c as its position in `vocabulary`, -1
        where a has no region in c. The rows of many tasks, put into one items × annotators
        matrix, are the input of `dawid_skene`. Raises ValueError for a label not in it."""
        index = {v: i for i, v in enumerate(vocabulary)}
        out = np.full(self.members.shape, -1, dtype=np.int64)
        for a, ann in enumerate(self.annotations):
            rows = np.flatnonzero(self.members[:, a] >= 0)
            for c in rows:
                label = ann.labels[self.members[c, a]].item()
                if label not in index:
                    raise ValueError(f"label {label!r} is not one of {list(vocabulary)}")
                out[c, a] = index[label]
        return out


# ---------------------------------------------------------------------------------------------
# Clustering


def _as_annotations(
    annotations: Sequence[AnnotatorRegions | tuple[Any, Any]],
) -> tuple[AnnotatorRegions, ...]:
    out = tuple(a if isinstance(a, AnnotatorRegions) else AnnotatorRegions(*a) for a in annotations)
    if not out:
        raise ValueError("annotations must hold at least one annotator's regions")
    return out


def _dense_rank(keys: Sequence[npt.NDArray[Any]]) -> IntArray:
    """Rank of each row by the given key columns (first column primary); equal rows share it."""
    n = len(keys[0])
    order = np.lexsort(tuple(reversed(keys)))
    rank = np.zeros(n, dtype=np.int64)
    if n:
        stacked = [k[order] for k in keys]
        new = np.zeros(n, dtype=bool)
        new[0] = True
        for k in stacked:
            new[1:] |= k[1:] != k[:-1]
        rank[order] = np.cumsum(new) - 1
    return rank


def cluster_regions(
    annotations: Sequence[AnnotatorRegions | tuple[Any, Any]], *, iou_threshold: float = 0.5
) -> Clusters:
    """Cluster one task's regions across annotators, at most one region per annotator per cluster.

    annotations: n annotators' `AnnotatorRegions` (or (boxes, labels) pairs), in any order.
    iou_threshold: in (0, 1], default 0.5.

    Label-agnostic (labels are voted later). Permuting the annotators permutes the columns of
    `members` and nothing else, as long as no annotator repeats a region identical in
    coordinates and label to another annotator's (then input order breaks the tie).

    >>> a = AnnotatorRegions([[0, 0, 10, 10]], ["cat"])
    >>> b = AnnotatorRegions([[1, 0, 10, 10], [50, 50, 60, 60]], ["dog", "cat"])
    >>> cluster_regions([a, b]).members.tolist()
    [[0, 0], [-1, 1]]
    """
    t = _check_unit(iou_threshold, "iou_threshold")
    anns = _as_annotations(annotations)
    n = len(anns)
    sizes = np.array([len(a) for a in anns], dtype=np.int64)
    owner = np.repeat(np.arange(n), sizes)
    local = np.concatenate([np.arange(s) for s in sizes]) if n else np.zeros(0, np.int64)
    boxes = np.concatenate([a.boxes for a in anns]).reshape(-1, 4)
    labels = np.concatenate([a.labels.astype(object) for a in anns])
    r = len(boxes)
    iou = iou_matrix(boxes, boxes)
    _, label_rank = np.unique(labels, return_inverse=True) if r else (None, np.zeros(0, np.int64))
    key = _dense_rank([boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3], label_rank])

    # candidate pairs i < j of different annotators, ordered by IoU then by canonical keys
    pi, pj = np.triu_indices(r, k=1)
    cand = (owner[pi] != owner[pj]) & (iou[pi, pj] >= t) & (iou[pi, pj] > 0)
    pi, pj = pi[cand], pj[cand]
    lo, hi = np.minimum(key[pi], key[pj]), np.maximum(key[pi], key[pj])
    order = np.lexsort((pj, pi, hi, lo, -iou[pi, pj]))

    cluster_of = np.arange(r)
    groups: dict[int, list[int]] = {i: [i] for i in range(r)}
    owners: dict[int, int] = {i: 1 << int(owner[i]) for i in range(r)}  # annotator bit sets
    for p in order:
        ci, cj = int(cluster_of[pi[p]]), int(cluster_of[pj[p]])
        if ci == cj or owners[ci] & owners[cj]:
            continue
        gi, gj = groups[ci], groups[cj]
        if iou[np.ix_(gi, gj)].mean() < t:
            continue
        keep, gone = min(ci, cj), max(ci, cj)
        groups[keep] = gi + gj
        owners[keep] = owners[ci] | owners[cj]
        cluster_of[groups[gone]] = keep
        del groups[gone], owners[gone]

    members = np.full((len(groups), n), -1, dtype=np.int64)
    mean_iou = np.ones(len(groups))
    sort_keys = []
    for c, g in enumerate(groups.values()):
        members[c, owner[g]] = local[g]
        if len(g) > 1:
            sub = iou[np.ix_(g, g)]
            mean_iou[c] = sub[np.triu_indices(len(g), k=1)].mean()
        sort_keys.append(sorted(key[g].tolist()))
    perm = sorted(range(len(groups)), key=lambda c: sort_keys[c])
    return Clusters(
        annotations=anns, members=members[perm], mean_iou=mean_iou[perm], iou_threshold=t
    )


# ---------------------------------------------------------------------------------------------
# Merging one task


def _weighted_median(values: FloatArray, weights: FloatArray) -> FloatArray:
    """Weighted median of each column of values (m, d) with weights (m,) > 0; returns (d,).

    The smallest v with cumulative weight >= W/2; where the cumulative weight equals W/2
    exactly (within 1e-9 W), the mean of that value and the next (the ordinary median for
    equal weights).
    """
    order = np.argsort(values, axis=0, kind="stable")
    v = np.take_along_axis(values, order, axis=0)
    cw = np.cumsum(weights[order], axis=0)
    half = cw[-1] / 2.0
    tol = _TIE * cw[-1]
    i = np.argmax(cw >= half - tol, axis=0)
    cols = np.arange(values.shape[1])
    nxt = np.minimum(i + 1, len(values) - 1)
    exact = np.abs(cw[i, cols] - half) <= tol
    return np.where(exact, (v[i, cols] + v[nxt, cols]) / 2.0, v[i, cols])


def _check_weights(weights: npt.ArrayLike | None, n: int) -> FloatArray:
    if weights is None:
        return np.ones(n)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,):
        raise ValueError(f"weights must have shape ({n},), one per annotator, got {w.shape}")
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError(f"weights must be finite and >= 0, got {w.tolist()}")
    if w.sum() <= 0:
        raise ValueError("weights must not all be 0")
    return w


def merge_regions(
    annotations: Sequence[AnnotatorRegions | tuple[Any, Any]],
    weights: npt.ArrayLike | None = None,
    *,
    quorum: float = 0.5,
    iou_threshold: float = 0.5,
    clusters: Clusters | None = None,
) -> ConsensusResult:
    """Merge one task's n annotations into its consensus regions.

    annotations: n `AnnotatorRegions` (or (boxes, labels) pairs), boxes xyxy in pixels.
    weights: (n,) float >= 0 per annotator (None: uniform), e.g. from `reliability_weights`.
    quorum: in (0, 1], default 0.5: a cluster is kept when its members' weight is >=
        quorum × the total weight, i.e. ceil(quorum · n) annotators with uniform weights.
    iou_threshold: in (0, 1], default 0.5, see `cluster_regions`.
    clusters: the result of `cluster_regions(annotations, iou_threshold=...)` to reuse (the
        clustering does not depend on weights or quorum).

    >>> a = AnnotatorRegions([[0, 0, 10, 10]], ["cat"])
    >>> b = AnnotatorRegions([[0, 0, 12, 10]], ["cat"])
    >>> c = AnnotatorRegions([[2, 0, 12, 10], [50, 50, 60, 60]], ["dog", "cat"])
    >>> r = merge_regions([a, b, c])
    >>> r.boxes.tolist(), r.labels.tolist(), r.support.tolist(), r.tied
    ([[0.0, 0.0, 12.0, 10.0]], ['cat'], [3], False)
    """
    q = _check_unit(quorum, "quorum")
    if clusters is None:
        clusters = cluster_regions(annotations, iou_threshold=iou_threshold)
    elif len(clusters.annotations) != len(annotations):
        raise ValueError("clusters were made from a different number of annotations")
    anns = clusters.annotations
    n = len(anns)
    w = _check_weights(weights, n)
    total = w.sum()
    mem = clusters.members
    present = mem >= 0
    support_w = (present * w).sum(axis=1)
    kept = support_w >= q * total - _TIE * total
    label_dtype = next((a.labels.dtype for a in anns if len(a)), np.dtype(object))

    boxes, labels, tied = [], [], []
    for c in np.flatnonzero(kept):
        who = np.flatnonzero(present[c] & (w > 0))
        member_boxes = np.stack([anns[a].boxes[mem[c, a]] for a in who])
        boxes.append(_weighted_median(member_boxes, w[who]))
        votes: dict[Any, float] = {}
        for a in who:
            label = anns[a].labels[mem[c, a]].item()
            votes[label] = votes.get(label, 0.0) + w[a]
        best = max(votes.values())
        top = sorted(k for k, v in votes.items() if v >= best - _TIE * total)
        labels.append(top[0])
        tied.append(len(top) > 1)

    k = len(boxes)
    out_boxes = np.array(boxes, dtype=np.float64).reshape(k, 4)
    out_labels = np.array(labels) if k else np.zeros(0, label_dtype)
    out_mem = mem[kept]
    # sort the kept regions by (box, label): independent of the annotators' order
    label_rank = np.unique(out_labels.astype(object), return_inverse=True)[1] if k else []
    perm = np.lexsort((label_rank, *out_boxes.T[::-1])) if k else np.zeros(0, np.int64)
    out_boxes, out_labels, out_mem = out_boxes[perm], out_labels[perm], out_mem[perm]
    frac = (support_w[kept] / total)[perm]
    score = frac * clusters.mean_iou[kept][perm]

    # agreement: annotator a's F1 against the consensus, through cluster membership
    agree = np.ones(n)
    for a, ann in enumerate(anns):
        rows = np.flatnonzero(out_mem[:, a] >= 0)
        tp = sum(ann.labels[out_mem[r, a]].item() == out_labels[r].item() for r in rows)
        den = len(ann) + k
        agree[a] = 2.0 * tp / den if den else 1.0
    return ConsensusResult(
        boxes=out_boxes,
        labels=out_labels,
        score=score,
        support=present[kept][perm].sum(axis=1).astype(np.int64),
        support_fraction=frac,
        members=out_mem,
        tied_regions=np.array(tied, dtype=bool).reshape(k)[perm],
        annotator_agreement=agree,
        agreement=float(agree.mean()),
        n_dropped=int((~kept).sum()),
    )


def triage(
    result: ConsensusResult, *, adjudicate_below: float = 0.5, accept_at: float = 0.9
) -> Triage:
    """What to do with a task's consensus.

    "adjudicate" when a label vote tied or result.agreement < adjudicate_below; else "accept"
    (auto-accept as ground truth) when every annotator's agreement with the consensus is >=
    accept_at; else "keep" (the consensus stands, nobody is asked). Thresholds in [0, 1].
    """
    lo = _check_unit(adjudicate_below, "adjudicate_below", low_open=False)
    hi = _check_unit(accept_at, "accept_at", low_open=False)
    if result.tied or result.agreement < lo:
        return "adjudicate"
    if result.annotator_agreement.min() >= hi:
        return "accept"
    return "keep"


# ---------------------------------------------------------------------------------------------
# Weights


def reliability_weights(
    accuracy: npt.ArrayLike,
    *,
    n_classes: int = 2,
    scheme: Literal["log_odds", "linear"] = "log_odds",
    max_accuracy: float = 0.99,
) -> FloatArray:
    """Vote weights (n,) from annotators' accuracies p (n,) in [0, 1].

    "log_odds" (default): w = log((K − 1) · p / (1 − p)) with p clipped to
    [1/K, max_accuracy], K = n_classes: the optimal vote weight of an annotator who is right
    with probability p and otherwise picks a wrong class at random; 0 at chance level, capped
    so that one near-perfect annotator cannot outvote everyone. "linear": w = p.
    A nan accuracy (unknown) gets the mean weight of the others (1 if all are unknown).
    """
    p = np.asarray(accuracy, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError(f"accuracy must have shape (n,), got {p.shape}")
    known = ~np.isnan(p)
    if ((p[known] < 0) | (p[known] > 1)).any():
        raise ValueError(f"accuracy must be in [0, 1], got {p.tolist()}")
    if n_classes < 2:
        raise ValueError(f"n_classes must be >= 2, got {n_classes}")
    if not 0.0 < max_accuracy < 1.0:
        raise ValueError(f"max_accuracy must be in (0, 1), got {max_accuracy!r}")
    if scheme == "linear":
        w = p.copy()
    elif scheme == "log_odds":
        pc = np.clip(p, 1.0 / n_classes, max(max_accuracy, 1.0 / n_classes))
        w = np.log((n_classes - 1) * pc / (1.0 - pc))
        w = np.maximum(w, 0.0)
    else:
        raise ValueError(f"scheme must be 'log_odds' or 'linear', got {scheme!r}")
    w[~known] = w[known].mean() if known.any() else 1.0
    return w


# ---------------------------------------------------------------------------------------------
# Dawid–Skene


@dataclass(frozen=True, eq=False)
class DawidSkeneResult:
    """Dawid–Skene estimate over I items, A annotators, C classes.

    posteriors: (I, C) float64, P(true class | answers); nan rows for items nobody answered.
    labels: (I,) int64, the most probable class (the smallest on a tie), -1 if unanswered.
    tied: (I,) bool, two classes were equally probable (within 1e-9).
    priors: (C,) float64, class prior π.
    confusion: (A, C, C) float64, confusion[a, c, l] = P(annotator a answers l | true c).
    accuracy: (A,) float64, Σ_c π_c confusion[a, c, c]; nan for annotators with no answer.
    n_iter: EM iterations run; converged: the log-likelihood gain fell below tol.
    log_likelihood: of the answers under the returned parameters' previous E-step.
    """

    posteriors: FloatArray
    labels: IntArray
    tied: BoolArray
    priors: FloatArray
    confusion: FloatArray
    accuracy: FloatArray
    n_iter: int
    converged: bool
    log_likelihood: float

    def __post_init__(self) -> None:
        _frozen(self.posteriors, self.labels, self.tied, self.priors, self.confusion, self.accuracy)


def _check_label_matrix(matrix: npt.ArrayLike, n_classes: int | None) -> tuple[IntArray, int]:
    m = np.asarray(matrix)
    if m.ndim != 2:
        raise ValueError(f"matrix must be (items, annotators), got shape {m.shape}")
    if m.dtype.kind == "f":
        if not np.all(np.isnan(m) | (m == np.round(m))):
            raise ValueError("matrix must hold integer class codes (-1 or nan = no answer)")
        m = np.where(np.isnan(m), -1, m)
    elif m.dtype.kind not in "iub":
        raise ValueError(f"matrix must hold integer class codes, got dtype {m.dtype}")
    m = m.astype(np.int64)
    if (m < -1).any():
        raise ValueError("matrix codes must be >= 0, or -1 for no answer")
    c = int(m.max()) + 1 if n_classes is None and m.size else int(n_classes or 1)
    if m.size and m.max() >= c:
        raise ValueError(f"matrix holds code {int(m.max())}, outside n_classes = {c}")
    return m, max(c, 1)


def _one_hot(m: IntArray, c: int) -> FloatArray:
    y = np.zeros((*m.shape, c))
    i, a = np.nonzero(m >= 0)
    y[i, a, m[i, a]] = 1.0
    return y


def _top(p: FloatArray) -> tuple[IntArray, BoolArray]:
    """argmax per row (smallest index on ties) and whether the top is tied within 1e-9."""
    labels = p.argmax(axis=1)
    best = p[np.arange(len(p)), labels]
    tied = ((p >= best[:, None] - _TIE).sum(axis=1) > 1) if p.shape[1] else np.zeros(0, bool)
    return labels.astype(np.int64), tied


def _m_step(y: FloatArray, t: FloatArray, smoothing: float) -> FloatArray:
    counts = np.einsum("ic,ial->acl", t, y) + smoothing
    np.maximum(counts, _EPS, out=counts)
    return counts / counts.sum(axis=2, keepdims=True)


def dawid_skene(
    matrix: npt.ArrayLike,
    n_classes: int | None = None,
    *,
    max_iter: int = 100,
    tol: float = 1e-6,
    smoothing: float = 0.01,
) -> DawidSkeneResult:
    """Dawid–Skene EM over an items × annotators matrix of class codes (-1 = no answer).

    matrix: (I, A) int codes in [0, C) or -1 (float with nan for no answer is accepted).
    n_classes: C (default: the largest code + 1).
    max_iter: EM iterations at most; tol: stop when the log-likelihood per answer gains less.
    smoothing: pseudo-count added to every confusion-matrix cell in the M-step (0 = plain
        maximum likelihood, as crowd-kit's `DawidSkene`, which it then matches to 1e-6).

    Initialised from the (deterministic) majority-vote shares; see docs/metrics.md for the
    E- and M-step equations.
    """
    m, c = _check_label_matrix(matrix, n_classes)
    if max_iter < 1:
        raise ValueError(f"max_iter must be >= 1, got {max_iter}")
    if smoothing < 0 or tol < 0:
        raise ValueError("smoothing and tol must be >= 0")
    n_items = len(m)
    answered = (m >= 0).any(axis=1)
    y = _one_hot(m[answered], c)
    n_answers = max(int(y.sum()), 1)
    votes = y.sum(axis=1)
    t = votes / np.maximum(votes.sum(axis=1, keepdims=True), 1.0)
    priors = t.mean(axis=0) if len(t) else np.full(c, 1.0 / c)
    confusion = _m_step(y, t, smoothing)
    ll_old, ll, converged, n_iter = -np.inf, -np.inf, False, 0
    for it in range(1, max_iter + 1):
        n_iter = it
        log_t = np.log(np.maximum(priors, _EPS)) + np.einsum("ial,acl->ic", y, np.log(confusion))
        top = log_t.max(axis=1, keepdims=True)
        t = np.exp(log_t - top)
        norm = t.sum(axis=1, keepdims=True)
        t /= norm
        ll = float((top + np.log(norm)).sum())
        priors = t.mean(axis=0) if len(t) else priors
        confusion = _m_step(y, t, smoothing)
        if (ll - ll_old) / n_answers < tol:
            converged = True
            break
        ll_old = ll
    post = np.full((n_items, c), np.nan)
    post[answered] = t
    labels = np.full(n_items, -1, dtype=np.int64)
    tied = np.zeros(n_items, dtype=bool)
    labels[answered], tied[answered] = _top(t)
    acc = np.einsum("c,acc->a", priors, confusion)
    acc[~(m >= 0).any(axis=0)] = np.nan
    return DawidSkeneResult(
        posteriors=post,
        labels=labels,
        tied=tied,
        priors=priors,
        confusion=confusion,
        accuracy=acc,
        n_iter=n_iter,
        converged=converged,
        log_likelihood=ll,
    )


@dataclass(frozen=True, eq=False)
class ClassificationConsensus:
    """Consensus of task-level classes for I items.

    labels: (I,) int64 winning class, -1 where nobody answered.
    posteriors: (I, C) float64, weighted vote shares (majority) or Dawid–Skene posteriors;
        nan rows for unanswered items.
    support: (I,) float64, the winner's share / posterior (nan if unanswered).
    tied: (I,) bool, the top two classes were equal (resolved to the smaller code).
    dawid_skene: the full estimate for method="dawid_skene", else None.
    """

    labels: IntArray
    posteriors: FloatArray
    support: FloatArray
    tied: BoolArray
    dawid_skene: DawidSkeneResult | None

    def __post_init__(self) -> None:
        _frozen(self.labels, self.posteriors, self.support, self.tied)


def merge_classifications(
    matrix: npt.ArrayLike,
    method: Literal["majority", "dawid_skene"] = "majority",
    *,
    weights: npt.ArrayLike | None = None,
    n_classes: int | None = None,
    **ds_options: Any,
) -> ClassificationConsensus:
    """Consensus class per item from an items × annotators matrix of codes (-1 = no answer).

    method "majority": (weighted) vote, weights (A,) >= 0 per annotator (None: uniform).
    method "dawid_skene": `dawid_skene(matrix, n_classes, **ds_options)`; weights not allowed.

    >>> merge_classifications([[0, 0, 1], [1, 0, -1]]).labels.tolist()
    [0, 0]
    >>> merge_classifications([[0, 0, 1], [1, 0, -1]]).tied.tolist()
    [False, True]
    """
    if method == "dawid_skene":
        if weights is not None:
            raise ValueError("weights apply to method='majority' only")
        ds = dawid_skene(matrix, n_classes, **ds_options)
        post = ds.posteriors
        return ClassificationConsensus(
            labels=ds.labels,
            posteriors=post,
            support=np.where(ds.labels >= 0, post.max(axis=1, initial=0.0), np.nan),
            tied=ds.tied,
            dawid_skene=ds,
        )
    if method != "majority":
        raise ValueError(f"method must be 'majority' or 'dawid_skene', got {method!r}")
    if ds_options:
        raise ValueError(f"unknown options for method='majority': {sorted(ds_options)}")
    m, c = _check_label_matrix(matrix, n_classes)
    w = _check_weights(weights, m.shape[1])
    votes = np.einsum("ial,a->il", _one_hot(m, c), w)
    total = votes.sum(axis=1, keepdims=True)
    answered = total[:, 0] > 0
    post = np.full(votes.shape, np.nan)
    post[answered] = votes[answered] / total[answered]
    labels = np.full(len(m), -1, dtype=np.int64)
    tied = np.zeros(len(m), dtype=bool)
    labels[answered], tied[answered] = _top(post[answered])
    support = np.full(len(m), np.nan)
    support[answered] = post[answered].max(axis=1)
    return ClassificationConsensus(
        labels=labels, posteriors=post, support=support, tied=tied, dawid_skene=None
    )


# ---------------------------------------------------------------------------------------------
# Many tasks at once


@dataclass(frozen=True, eq=False)
class ProjectConsensus:
    """`merge_many`'s result: one `ConsensusResult` per task, and the weights used.

    weights: annotator id -> weight (1.0 each for "uniform").
    dawid_skene: the estimate over cluster labels for weighting="dawid_skene" (its annotator
        axis in the order of `annotator_ids`), else None.
    """

    results: tuple[ConsensusResult, ...]
    weights: dict[Hashable, float]
    annotator_ids: tuple[Hashable, ...]
    dawid_skene: DawidSkeneResult | None


def cluster_label_rows(
    clusters: Clusters, columns: Sequence[int], n_annotators: int, vocabulary: Sequence[Any]
) -> IntArray:
    """The items × annotators rows one task adds to `label_weights`' matrix: its clusters with
    two or more members, annotator a's label code in column `columns[a]`, -1 elsewhere."""
    codes = clusters.label_codes(vocabulary)
    codes = codes[(codes >= 0).sum(axis=1) >= 2]
    block = np.full((len(codes), n_annotators), -1, dtype=np.int64)
    block[:, list(columns)] = codes
    return block


def label_weights(
    matrix: npt.ArrayLike, n_labels: int, **ds_options: Any
) -> tuple[FloatArray, DawidSkeneResult]:
    """Vote weights (A,) of annotators from their labels of shared regions (items × A codes):
    Dawid–Skene's estimate of each one's label accuracy, as `reliability_weights` (log-odds,
    K = number of labels)."""
    k = max(n_labels, 2)
    ds = dawid_skene(matrix, k, **ds_options)
    return reliability_weights(ds.accuracy, n_classes=k), ds


def merge_many(
    tasks: Sequence[Sequence[AnnotatorRegions | tuple[Any, Any]]],
    annotators: Sequence[Sequence[Hashable]],
    *,
    weighting: Weighting = "uniform",
    accuracy: Mapping[Hashable, float] | None = None,
    vocabulary: Sequence[Any] | None = None,
    quorum: float = 0.5,
    iou_threshold: float = 0.5,
    weights: Mapping[Hashable, float] | None = None,
    **ds_options: Any,
) -> ProjectConsensus:
    """Merge many tasks, with one weight per annotator across them.

    tasks[t]: the annotations of task t; annotators[t]: the annotator id of each of them.
    weighting:
      "uniform": every annotator weighs 1.
      "accuracy": `reliability_weights` (log-odds, K = 2) of `accuracy[id]`, each annotator's
        accuracy against ground truth in [0, 1]; ids missing from it get the mean weight.
      "dawid_skene": all clusters with >= 2 members (over all tasks) are items, their members'
        labels the answers (codes in `vocabulary`, default: the sorted labels seen);
        `dawid_skene(**ds_options)` estimates each annotator's label accuracy, and
        `reliability_weights` (log-odds, K = number of labels) turns it into weights.
    weights: annotator id -> weight estimated beforehand (e.g. once over a whole project, when
      its tasks are merged in batches); replaces `weighting`'s estimate. Ids missing from it get
      the mean weight.
    """
    _check_unit(quorum, "quorum")
    _check_unit(iou_threshold, "iou_threshold")
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")
    if len(tasks) != len(annotators):
        raise ValueError(f"tasks ({len(tasks)}) and annotators ({len(annotators)}) must align")
    ids: dict[Hashable, int] = {}
    for t, (anns, who) in enumerate(zip(tasks, annotators, strict=True)):
        if len(anns) != len(who):
            raise ValueError(f"annotators[{t}] must name each of the {len(anns)} annotations")
        if len(set(who)) != len(who):
            raise ValueError(f"annotators[{t}] names an annotator twice")
        for a in who:
            ids.setdefault(a, len(ids))
    id_list = tuple(ids)
    clusters = [cluster_regions(anns, iou_threshold=iou_threshold) for anns in tasks]
    ds: DawidSkeneResult | None = None
    if weights is not None:
        known = np.array([weights[a] for a in id_list if a in weights], dtype=np.float64)
        fill = float(known.mean()) if len(known) else 1.0
        w = np.array([weights.get(a, fill) for a in id_list], dtype=np.float64)
    elif weighting == "uniform":
        w = np.ones(len(ids))
    elif weighting == "accuracy":
        if accuracy is None:
            raise ValueError("weighting='accuracy' needs accuracy: annotator id -> [0, 1]")
        w = reliability_weights([accuracy.get(a, np.nan) for a in id_list])
    else:
        if vocabulary is None:
            seen = {lab.item() for anns in clusters for a in anns.annotations for lab in a.labels}
            vocabulary = sorted(seen)
        rows = [
            cluster_label_rows(cl, [ids[a] for a in who], len(ids), vocabulary)
            for cl, who in zip(clusters, annotators, strict=True)
        ]
        matrix = np.concatenate(rows) if rows else np.zeros((0, len(ids)), np.int64)
        w, ds = label_weights(matrix, len(vocabulary), **ds_options)
    results = []
    for t, (anns, who, cl) in enumerate(zip(tasks, annotators, clusters, strict=True)):
        tw = w[[ids[a] for a in who]]
        if tw.sum() <= 0:  # every annotator of this task is at chance level: fall back
            tw = np.ones(len(who))
        try:
            results.append(merge_regions(anns, tw, quorum=quorum, clusters=cl))
        except ValueError as exc:
            raise ValueError(f"tasks[{t}]: {exc}") from exc
    return ProjectConsensus(
        results=tuple(results),
        weights={a: float(w[i]) for a, i in ids.items()},
        annotator_ids=id_list,
        dawid_skene=ds,
    )
