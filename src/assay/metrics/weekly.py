"""Accuracy per annotator per week: the dashboard's and the honeypot report's charts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta

# annotator id -> Monday of the week -> [answers scored, accuracy sum]
WeeklySums = dict[int, dict[date, list[float]]]


def monday_of(moment: datetime) -> date:
    day = moment.date()
    return day - timedelta(days=day.weekday())


def weekly_sums(rows: Iterable[tuple[str, datetime, float]]) -> WeeklySums:
    """From (subject key, when, accuracy) score rows; keys that are not a user id (model
    versions) are skipped."""
    weeks: WeeklySums = defaultdict(lambda: defaultdict(lambda: [0, 0.0]))
    for key, at, accuracy in rows:
        if key.isdigit():
            w = weeks[int(key)][monday_of(at)]
            w[0] += 1
            w[1] += accuracy
    return weeks


def weekly_means(weeks: dict[date, list[float]]) -> list[tuple[date, int, float]]:
    """One annotator's weeks, oldest first: (Monday, answers scored, mean accuracy)."""
    return [(d, int(n), round(total / n, 6)) for d, (n, total) in sorted(weeks.items())]
