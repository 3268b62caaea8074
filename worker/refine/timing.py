"""When an attribute's value is known relative to a deal's close: the evidence for or against leakage.

An attribute that is only filled in after a deal closes (a renewal flag, an onboarding score) separates
won from lost deals perfectly and predicts nothing. Strength alone is not evidence of that; these are:
a declaration in the field mapping (``known: before_close | after_close``) and the CRM's property
history showing values set after the deal closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

KnownWhen = Literal["before_close", "after_close"]


@dataclass(frozen=True)
class AttributeTiming:
    """What is known about when one attribute's values are set.

    Attributes:
        declared: The mapping's ``known:`` declaration, or None when the mapping is silent.
        history_checked: Closed deals whose account had property history for this attribute.
        set_after_close: Of those, deals whose account's current value was set after the deal closed.
    """

    declared: KnownWhen | None = None
    history_checked: int = 0
    set_after_close: int = 0

    @property
    def share_set_after_close(self) -> float | None:
        """Share of checked deals whose value was set after close (None when no history was read)."""
        return self.set_after_close / self.history_checked if self.history_checked else None
