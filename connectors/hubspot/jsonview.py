"""Read-only attribute access over decoded JSON, in the SDK models' snake_case names.

Decoding a page into SDK models builds an object per record and parses every timestamp with
dateutil: most of the client's CPU on a large pull. A :class:`JsonView` over the decoded body answers
the same attribute names (``page.paging.next.after``, ``record.updated_at``, ``result._from.id``,
``link.to_object_id``) from the plain JSON, leaving timestamps as the ISO strings HubSpot sent
(``parse_time`` reads them with the standard library). An absent attribute is None, as on a model.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=256)
def json_name(attribute: str) -> str:
    """The JSON key of an SDK attribute name: ``updated_at`` → ``updatedAt``, ``_from`` → ``from``."""
    head, *rest = attribute.lstrip("_").split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def view(value: Any) -> Any:
    """``value`` with JSON objects (also inside arrays) seen through :class:`JsonView`."""
    if isinstance(value, dict):
        return JsonView(value)
    if isinstance(value, list):
        return [view(item) for item in value]
    return value


class JsonView(Mapping[str, Any]):
    """A JSON object read like an SDK model (attributes) or like a mapping (its JSON keys)."""

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        data = self._data
        key = json_name(attribute)
        if key in data:
            return view(data[key])
        return view(data.get(attribute))

    def __getitem__(self, key: str) -> Any:
        return view(self._data[key])

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def keys(self) -> Any:
        """The JSON keys (also what ``dict(view)`` copies)."""
        return self._data.keys()

    def to_dict(self) -> dict[str, Any]:
        """The decoded JSON object itself."""
        return self._data

    def __repr__(self) -> str:
        return f"JsonView({self._data!r})"
