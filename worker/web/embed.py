"""Documents rendered elsewhere (the brief, the report) shown inside a page: their body, without their own styles."""

from __future__ import annotations

import re

from markupsafe import Markup

_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.DOTALL | re.IGNORECASE)


def body_of(document: str | None) -> Markup | None:
    """The inside of ``document``'s body, trusted as the document itself was (rendered with autoescaping).

    Only documents this worker rendered from its own templates are embedded; their data was escaped
    when they were rendered.
    """
    if not document:
        return None
    found = _BODY.search(document)
    return Markup(found.group(1) if found else "")  # noqa: S704 - our own autoescaped rendering
