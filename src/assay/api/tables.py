"""Tables as JSON (a list of rows) or, with `?format=csv`, as a CSV file download."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi.responses import Response

from assay.services.errors import Invalid


def table(rows: list[dict[str, Any]], fmt: str, name: str) -> Any:
    """`rows` as they are for "json"; for "csv" a `name`.csv attachment, list cells joined
    with "|". Invalid for any other format."""
    if fmt == "json":
        return rows
    if fmt != "csv":
        raise Invalid.field("format", "must be json or csv")
    out = io.StringIO()
    flat = [
        {k: ("|".join(map(str, v)) if isinstance(v, list) else v) for k, v in r.items()}
        for r in rows
    ]
    writer = csv.DictWriter(out, fieldnames=list(flat[0]) if flat else ["empty"])
    writer.writeheader()
    writer.writerows(flat)
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )
