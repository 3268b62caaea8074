"""Settings of a refinement run, with the statistical rules and their defaults.

Every threshold that decides whether a criterion is proposed lives here, so that a
run's evidence can record exactly which rules produced it (``Analysis.to_json()``
stores ``settings.model_dump()``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from worker.score.scorecard.model import Dimension

Target = Literal["good_customer", "won"]
Monotonic = Literal["ascending", "descending", "auto"]

DEFAULT_IGNORED: tuple[str, ...] = (
    "id",
    "name",
    "company_name",
    "domain",
    "website",
    "description",
    "notes",
    "owner",
    "owner_id",
    "hubspot_owner_id",
    "email",
    "phone",
    "address",
    "street",
    "zip",
    "postal_code",
)
"""Identifiers, names, free text and ownership: never fit criteria."""

DEFAULT_LEAKY: tuple[str, ...] = (
    "lifecyclestage",
    "lifecycle_stage",
    "num_associated_deals",
    "total_revenue",
    "recent_deal_amount",
    "recent_deal_close_date",
    "first_deal_created_date",
    "days_to_close",
    "closedate",
    "close_date",
    "customer_since",
    "became_customer_date",
    "is_customer",
)
"""CRM fields that are written when or after a deal closes, so they reveal the outcome."""


class BandEdge(BaseModel):
    """A tier and the lowest score that reaches it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tier: str
    min: int = Field(ge=0, le=100)


class RefineSettings(BaseModel):
    """Rules of a refinement run. Defaults follow credit-scorecard practice, scaled to CRM sample sizes.

    Attributes:
        window_months: Closed deals whose close date falls in the last this many months are analysed.
        target: ``good_customer`` (won and not in the problematic health cohort) or ``won`` (closing only).
        min_wins: Readiness gate: fewest closed-won deals in the window.
        min_losses: Readiness gate: fewest closed-lost deals in the window.
        max_generic_loss_share: Readiness check: most lost deals whose loss reason may be empty or generic.
        min_retention_coverage: Readiness check: least share of won accounts with a retention status.
        min_delivery_fit_coverage: Readiness check: least share of won accounts with a delivery-fit rating.
        evidence_quality_blocks: When true the three evidence-quality checks above stop the run like the
            win/loss minimums do; by default they are reported as warnings.
        min_health_coverage: Below this share of won deals with any health data, ``good_customer`` cannot be
            told apart from ``won`` and the run falls back to the ``won`` target, saying so.
        heavy_support_quantile: Support tickets at or above this quantile of won accounts count as heavy.
        slow_ttv_quantile: Time to value at or above this quantile of won accounts counts as slow.
        low_margin_quantile: Gross margin at or below this quantile of won accounts counts as low.
        detractor_nps: NPS at or below this is a detractor (a soft pain).
        promoter_nps: NPS at or above this is a promoter (a positive sign for the best cohort).
        soft_pains_for_problematic: Soft pains (heavy support, slow time to value, detractor, low margin)
            that together make an account problematic; churn, contraction and poor delivery fit alone do.
        ignore_attributes: Attribute names never analysed (case-insensitive).
        leaky_attributes: Attribute names that reveal the outcome and are never analysed.
        max_category_levels: A text attribute with more distinct values than this is skipped as free text.
        max_distinct_share: A text attribute whose distinct values exceed this share of its filled values
            (and 20) is skipped as an identifier or free text.
        min_bin_count: Fewest closed deals in a bin (and in a category kept on its own). At 30 deals the
            Wilson 95% interval of a 50% rate is about +/-17 points; below that one or two deals move a
            rate by several points, which is the anecdote the product refuses to act on.
        min_bin_share: Fewest deals in a numeric bin as a share of all deals analysed.
        rare_category_share: Category values below this share (or ``min_bin_count``) are grouped as other.
        max_prebins: Quantile pre-bins per numeric attribute before merging.
        max_bins: Most bins a criterion may end with.
        adjacent_max_pvalue: Adjacent bins whose rates do not differ at this level are merged.
        monotonic: Optional per-attribute trend the bins' rates must follow.
        alpha: False discovery rate for the Benjamini-Hochberg procedure over all candidate criteria
            (and, as separate families, exclusions, triggers and segments).
        conditional_alpha: False discovery rate of the forward conditional steps, which run only once some
            criterion has passed the univariate screen at ``alpha`` (so a world without signal still
            proposes nothing at the screen's error rate). A criterion entering this way is judged at this
            rate, not at ``alpha``. At 0.1 a weak driver masked by a strong one enters more training fits
            (the strong-categorical world of the quality battery gains 0.004 AUC), at the price of about one
            more noise criterion in 80 chances on the planted test world, so the default stays at 0.05.
        min_iv: Least information value of a proposed criterion (0.02 is the usual floor of "weak").
        min_rate_diff: Least gap between the best and worst bin's target rate for a proposed criterion.
        suspicious_iv: Above this information value a proposed criterion carries a line in the brief asking
            the approver to confirm it is known before a deal closes (strength alone is not leakage).
        max_set_after_close_share: A criterion is held back as post-close when the CRM's property history
            shows its value set after the deal closed for more than this share of the deals checked.
        separation_auc: A criterion whose bins alone rank the outcome right at least this often is held
            back as near-perfect separation, unless the mapping declares it ``known: before_close``.
        max_criteria: Most criteria a proposed scorecard carries (strongest by information value).
        min_replication: Share of the validation's training fits (the older deals out-of-time, or the
            k-fold training sets) in which a criterion must also pass the screen to be proposed:
            evidence that holds on all deals but not on most subsets is too fragile to act on.
        min_coefficient_z: A criterion stays in the logistic regression only while its coefficient is
            positive with a Wald z at least this large (1.645: a one-sided 95% test that it is positive,
            the only direction a criterion is kept for).
        dimensions: Dimension per attribute; unnamed attributes are classified by their name.
        bands: Score bands, best first.
        exclusion_cap_tier: The tier an excluded (anti-persona) account is capped at.
        exclusion_points: Optional points an exclusion subtracts (zero or negative).
        min_health_rate_diff: Least excess of a segment's problematic rate over the rest for an exclusion.
        min_health_ratio: Least ratio of a segment's problematic rate to the rest for an exclusion.
        max_exclusions: Most exclusions proposed (strongest first).
        holdout_fraction: Share of the newest closed deals held out for the out-of-time test.
        min_holdout_class: Fewest positives and negatives the out-of-time test slice needs; otherwise
            repeated stratified k-fold is used.
        min_close_days: Fewest distinct close days for an out-of-time test; fewer (or any undated deal)
            and the validation is repeated k-fold.
        kfold_splits: Folds of the cross-validation fallback.
        kfold_repeats: Repeats of the cross-validation fallback.
        random_seed: Seed of every random choice (folds, bootstrap), so a run is reproducible.
        min_lift_auc: Validation AUC a scorecard needs, with its 95% interval above 0.5, to count as lift.
        check_min_share: The playbook quality check passes when at least this share of won deals score
            ``high_score`` or more and of lost deals under ``low_score`` (held out); otherwise it is a risk.
        high_score: The playbook quality check: share of wins scoring this or more.
        low_score: The playbook quality check: share of losses scoring below this.
        right_fit_min_score: Lost deals scoring this or more count as right fit.
        surprise_win_max_score: Wins scoring below this are surprise wins.
        surprise_loss_min_score: Losses scoring this or more are surprise losses.
        max_surprises: Most surprises listed of each kind.
        max_quotes: Most customer quotes in the brief.
        deal_id_sample: Deal ids kept per bin as its evidence trail.
        segment_min_effect: Least effect size (eta squared of the deal-size Kruskal-Wallis test) for
            won accounts to count as distinct segments.
        segment_attributes: Strongest criteria considered for segments (single and in pairs).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    window_months: int = Field(default=18, ge=1, le=120)
    target: Target = "good_customer"
    min_wins: int = Field(default=20, ge=1)
    min_losses: int = Field(default=20, ge=1)
    max_generic_loss_share: float = Field(default=0.5, ge=0, le=1)
    min_retention_coverage: float = Field(default=0.5, ge=0, le=1)
    min_delivery_fit_coverage: float = Field(default=0.3, ge=0, le=1)
    evidence_quality_blocks: bool = False
    min_health_coverage: float = Field(default=0.3, ge=0, le=1)
    heavy_support_quantile: float = Field(default=0.9, gt=0, lt=1)
    slow_ttv_quantile: float = Field(default=0.9, gt=0, lt=1)
    low_margin_quantile: float = Field(default=0.1, gt=0, lt=1)
    detractor_nps: float = 6
    promoter_nps: float = 9
    soft_pains_for_problematic: int = Field(default=2, ge=1)
    ignore_attributes: tuple[str, ...] = DEFAULT_IGNORED
    leaky_attributes: tuple[str, ...] = DEFAULT_LEAKY
    max_category_levels: int = Field(default=50, ge=2)
    max_distinct_share: float = Field(default=0.5, gt=0, le=1)
    min_bin_count: int = Field(default=30, ge=1)
    min_bin_share: float = Field(default=0.05, ge=0, lt=0.5)
    rare_category_share: float = Field(default=0.02, ge=0, lt=0.5)
    max_prebins: int = Field(default=10, ge=2, le=50)
    max_bins: int = Field(default=6, ge=2, le=20)
    adjacent_max_pvalue: float = Field(default=0.3, gt=0, lt=1)
    monotonic: dict[str, Monotonic] = Field(default_factory=dict)
    alpha: float = Field(default=0.05, gt=0, lt=1)
    conditional_alpha: float = Field(default=0.05, gt=0, lt=1)
    min_iv: float = Field(default=0.02, ge=0)
    min_rate_diff: float = Field(default=0.05, ge=0, le=1)
    suspicious_iv: float = Field(default=1.0, gt=0)
    max_set_after_close_share: float = Field(default=0.2, ge=0, le=1)
    separation_auc: float = Field(default=0.97, gt=0.5, le=1)
    max_criteria: int = Field(default=10, ge=1)
    min_replication: float = Field(default=0.5, ge=0, le=1)
    min_coefficient_z: float = Field(default=1.645, ge=0)
    dimensions: dict[str, Dimension] = Field(default_factory=dict)
    bands: tuple[BandEdge, ...] = (
        BandEdge(tier="A", min=80),
        BandEdge(tier="B", min=60),
        BandEdge(tier="C", min=40),
        BandEdge(tier="D", min=0),
    )
    exclusion_cap_tier: str | None = "C"
    exclusion_points: int | None = Field(default=None, le=0)
    min_health_rate_diff: float = Field(default=0.10, ge=0, le=1)
    min_health_ratio: float = Field(default=1.5, ge=1)
    max_exclusions: int = Field(default=5, ge=0)
    holdout_fraction: float = Field(default=0.25, gt=0, lt=1)
    min_holdout_class: int = Field(default=20, ge=1)
    min_close_days: int = Field(default=20, ge=2)
    kfold_splits: int = Field(default=5, ge=2)
    kfold_repeats: int = Field(default=3, ge=1)
    random_seed: int = 0
    min_lift_auc: float = Field(default=0.55, ge=0.5, le=1)
    check_min_share: float = Field(default=0.7, ge=0, le=1)
    high_score: int = Field(default=70, ge=0, le=100)
    low_score: int = Field(default=55, ge=0, le=100)
    right_fit_min_score: int = Field(default=60, ge=0, le=100)
    surprise_win_max_score: int = Field(default=40, ge=0, le=100)
    surprise_loss_min_score: int = Field(default=80, ge=0, le=100)
    max_surprises: int = Field(default=20, ge=0)
    max_quotes: int = Field(default=12, ge=0)
    deal_id_sample: int = Field(default=10, ge=0)
    segment_min_effect: float = Field(default=0.06, ge=0, le=1)
    segment_attributes: int = Field(default=4, ge=1)

    @model_validator(mode="after")
    def _consistent(self) -> RefineSettings:
        tiers = [b.tier for b in self.bands]
        if len(set(tiers)) != len(tiers) or 0 not in {b.min for b in self.bands}:
            raise ValueError("bands need distinct tiers and one band starting at 0")
        if self.exclusion_cap_tier is not None and self.exclusion_cap_tier not in tiers:
            raise ValueError(f"exclusion_cap_tier {self.exclusion_cap_tier!r} is not one of the bands {tiers}")
        if self.exclusion_cap_tier is None and self.exclusion_points is None:
            raise ValueError("exclusions need exclusion_cap_tier or exclusion_points")
        return self

    def min_bin_size(self, n_rows: int) -> int:
        """Fewest deals in a bin for a data set of ``n_rows`` closed deals."""
        return max(self.min_bin_count, int(-(-self.min_bin_share * n_rows // 1)))

    def min_category_size(self, n_rows: int) -> int:
        """Fewest deals for a category value to keep its own bin."""
        return max(self.min_bin_count, int(-(-self.rare_category_share * n_rows // 1)))

    def is_ignored(self, attribute: str) -> bool:
        """Whether an attribute is excluded from analysis by configuration."""
        key = attribute.strip().lower()
        return key in {a.lower() for a in self.ignore_attributes}

    def is_leaky(self, attribute: str) -> bool:
        """Whether an attribute is known to be written when a deal closes."""
        key = attribute.strip().lower()
        return key in {a.lower() for a in self.leaky_attributes}
