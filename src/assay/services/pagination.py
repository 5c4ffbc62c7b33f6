"""Page arithmetic shared by every list: `page` from 1, past the last page is NotFound."""

from __future__ import annotations

from dataclasses import dataclass

from assay.services.errors import Invalid, NotFound

MAX_PAGE_SIZE = 10_000_000  # label-studio-sdk asks for "everything" with a huge page_size


@dataclass(frozen=True)
class Page:
    number: int
    size: int
    total: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def has_next(self) -> bool:
        return self.offset + self.size < self.total


def page_of(page: int, page_size: int, total: int) -> Page:
    """Check `page` against `total`; page 1 of an empty list is a valid, empty page."""
    if page < 1:
        raise Invalid.field("page", "must be 1 or more")
    if page_size < 1 or page_size > MAX_PAGE_SIZE:
        raise Invalid.field("page_size", f"must be between 1 and {MAX_PAGE_SIZE}")
    last = max(1, -(-total // page_size))
    if page > last:
        raise NotFound("Invalid page.")
    return Page(number=page, size=page_size, total=total)
