"""One shape for every paginated list: ``{items, total, page, page_size}``."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

T = TypeVar("T")

MAX_PAGE_SIZE = 200


class PageParams(BaseModel):
    page: int
    page_size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int

    @classmethod
    def of(cls, items: list[T], total: int, paging: PageParams) -> Page[T]:
        """The page ``paging`` asked for: ``items`` of ``total``."""
        return cls(items=items, total=total, page=paging.page, page_size=paging.page_size)


def page_params(
    page: Annotated[int, Query(ge=1, le=100_000, description="页码，从1开始 / page, from 1")] = 1,
    page_size: Annotated[
        int, Query(ge=1, le=MAX_PAGE_SIZE, description="每页条数 / items per page")
    ] = 20,
) -> PageParams:
    return PageParams(page=page, page_size=page_size)


PageDep = Annotated[PageParams, Depends(page_params)]
