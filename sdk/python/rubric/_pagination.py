"""Lazy lists: iterate them and further pages are fetched as needed.

The API answers lists as ``{"data": [...], "next_cursor": "…" | null}`` and
takes ``limit`` (1–250 per page) and ``cursor``. A :class:`ListResult` yields
items across pages and stops after ``limit`` items in total (``None``: all).
Each ``for`` loop over it starts again from the first page.
"""
from __future__ import annotations

from typing import Any, Dict, Generic, Iterator, List, Mapping, Optional, Type, TypeVar

from ._models import RubricObject
from ._transport import Transport

T = TypeVar("T", bound=RubricObject)

#: The API's largest page.
MAX_PAGE_SIZE = 250
#: Page size when the caller sets no limit.
DEFAULT_PAGE_SIZE = 100


class ListResult(Generic[T]):
    """An iterable over every item of a list endpoint, up to ``limit``."""

    def __init__(
        self,
        transport: Transport,
        path: str,
        item: Type[T],
        *,
        query: Optional[Mapping[str, Any]] = None,
        limit: Optional[int] = None,
        page_size: Optional[int] = None,
        paginated: bool = True,
    ) -> None:
        if limit is not None and limit < 0:
            raise ValueError("limit must be 0 or more")
        if page_size is not None and not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        self._transport = transport
        self._path = path
        self._item = item
        self._query: Dict[str, Any] = dict(query or {})
        self.limit = limit
        self._page_size = page_size
        self._paginated = paginated

    def _size(self, remaining: Optional[int]) -> int:
        size = self._page_size or DEFAULT_PAGE_SIZE
        return min(size, remaining) if remaining is not None else size

    def pages(self) -> Iterator[List[T]]:
        """Yields one list of items per page fetched (the last one cut at ``limit``)."""
        remaining = self.limit
        cursor: Optional[str] = None
        while remaining is None or remaining > 0:
            query = dict(self._query)
            if self._paginated:
                query.update(limit=self._size(remaining), cursor=cursor)
            body = self._transport.request("GET", self._path, query=query).body or {}
            items = [self._item.from_json(x) for x in body.get("data", [])]
            if remaining is not None:
                items = items[:remaining]
                remaining -= len(items)
            yield items
            cursor = body.get("next_cursor") if self._paginated else None
            if not cursor:
                return

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            yield from page

    def to_list(self) -> List[T]:
        """Every item (up to ``limit``), fetched now."""
        return list(self)

    def first(self) -> Optional[T]:
        """The first item, or ``None``; fetches one page only."""
        return next(iter(self), None)


