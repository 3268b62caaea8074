"""The drift monitor's thresholds, with the reasoning behind each default."""

from __future__ import annotations

from dataclasses import dataclass

PSI_INVESTIGATE = 0.10
PSI_ALARM = 0.25


@dataclass(frozen=True)
class DriftSettings:
    """When the monitor raises the drift alarm.

    Attributes:
        psi_investigate: PSI at or above this reads "investigate" (the usual 0.10 credit-risk reading).
        psi_alarm: PSI at or above this reads "significant change" and raises the alarm (the usual 0.25).
        min_psi_accounts: Fewer accounts than this on either side and no PSI is read: with few accounts
            sampling noise alone pushes PSI up.
        alpha: Family-wise significance of the tier tests (win rate and health per tier), held with
            Holm's correction so that four tiers times two tests do not multiply false alarms.
        min_rate_difference: A significant deviation must also be at least this large (absolute, in
            rate points) to alarm, so that a large portal does not alarm on a trivial difference.
        min_closed_deals: Fewer deals closed since the version took effect and the outcome checks wait:
            "not enough closed deals yet".
        min_tier_deals: Fewer closed deals than this in a tier and that tier is reported but not tested.
        min_expected_deals: The evidence behind a tier's expected rate must hold at least this many deals.
        cadence_days: The version is stale (due for review) once it has been in force this long; quarterly.
        max_listed_deals: How many deal ids are listed for wins outside and losses inside the ICP.
    """

    psi_investigate: float = PSI_INVESTIGATE
    psi_alarm: float = PSI_ALARM
    min_psi_accounts: int = 100
    alpha: float = 0.01
    min_rate_difference: float = 0.10
    min_closed_deals: int = 30
    min_tier_deals: int = 20
    min_expected_deals: int = 20
    cadence_days: int = 91
    max_listed_deals: int = 20

    def __post_init__(self) -> None:
        if not 0 <= self.psi_investigate <= self.psi_alarm:
            raise ValueError("psi_investigate must be between 0 and psi_alarm")
        if not 0 < self.alpha < 1:
            raise ValueError("alpha must lie between 0 and 1")
        if self.cadence_days < 1:
            raise ValueError("cadence_days must be at least 1")
