"""Categories, pipelines and effect sizes shared by the world generator and the personalities."""

from __future__ import annotations

from dataclasses import dataclass

INDUSTRIES: tuple[str, ...] = (
    "COMPUTER_SOFTWARE",
    "FINANCIAL_SERVICES",
    "HOSPITAL_HEALTH_CARE",
    "RETAIL",
    "MARKETING_AND_ADVERTISING",
    "MECHANICAL_OR_INDUSTRIAL_ENGINEERING",
    "EDUCATION_MANAGEMENT",
    "REAL_ESTATE",
    "LOGISTICS_AND_SUPPLY_CHAIN",
    "TELECOMMUNICATIONS",
    "INSURANCE",
    "NONPROFIT_ORGANIZATION_MANAGEMENT",
)
# HubSpot's labels for these options of its standard `industry` property (LinkedIn's industry names).
INDUSTRY_LABELS: dict[str, str] = {
    "COMPUTER_SOFTWARE": "Computer Software",
    "FINANCIAL_SERVICES": "Financial Services",
    "HOSPITAL_HEALTH_CARE": "Hospital & Health Care",
    "RETAIL": "Retail",
    "MARKETING_AND_ADVERTISING": "Marketing and Advertising",
    "MECHANICAL_OR_INDUSTRIAL_ENGINEERING": "Mechanical or Industrial Engineering",
    "EDUCATION_MANAGEMENT": "Education Management",
    "REAL_ESTATE": "Real Estate",
    "LOGISTICS_AND_SUPPLY_CHAIN": "Logistics and Supply Chain",
    "TELECOMMUNICATIONS": "Telecommunications",
    "INSURANCE": "Insurance",
    "NONPROFIT_ORGANIZATION_MANAGEMENT": "Non-Profit Organization Management",
}
FUNDING_STAGE_LABELS: dict[str, str] = {
    "bootstrapped": "Bootstrapped", "seed": "Seed", "series_a": "Series A", "series_b": "Series B",
    "growth": "Growth", "public": "Public",
}
INDUSTRY_WEIGHTS: tuple[float, ...] = (
    0.14, 0.10, 0.09, 0.09, 0.09, 0.09, 0.07, 0.07, 0.07, 0.06, 0.07, 0.06,
)
ICP_INDUSTRIES: tuple[str, ...] = ("COMPUTER_SOFTWARE", "FINANCIAL_SERVICES")

COUNTRIES: tuple[str, ...] = (
    "United States", "United Kingdom", "Germany", "France", "Canada",
    "Australia", "Netherlands", "Sweden", "India", "Brazil",
)
COUNTRY_WEIGHTS: tuple[float, ...] = (0.42, 0.12, 0.09, 0.06, 0.07, 0.05, 0.05, 0.04, 0.06, 0.04)

FUNDING_STAGES: tuple[str, ...] = ("bootstrapped", "seed", "series_a", "series_b", "growth", "public")
FUNDING_WEIGHTS_BY_SIZE: tuple[tuple[float, ...], ...] = (
    (0.40, 0.30, 0.18, 0.07, 0.03, 0.02),
    (0.22, 0.12, 0.22, 0.20, 0.16, 0.08),
    (0.10, 0.04, 0.06, 0.14, 0.28, 0.38),
)
SIZE_BUCKET_EDGES: tuple[int, ...] = (50, 1000)
DATA_WAREHOUSE_RATE_BY_SIZE: tuple[float, ...] = (0.30, 0.40, 0.48)

CRM_SYSTEMS: tuple[str, ...] = ("hubspot", "salesforce", "other", "none")
CRM_WEIGHTS: tuple[float, ...] = (0.45, 0.30, 0.15, 0.10)

LEAD_SOURCES: tuple[str, ...] = ("referral", "outbound", "inbound", "event", "partner")
LEAD_SOURCE_WEIGHTS: tuple[float, ...] = (0.15, 0.30, 0.35, 0.10, 0.10)

RETENTION_STATUSES: tuple[str, ...] = ("active", "churned", "contracted")
DELIVERY_FITS: tuple[str, ...] = ("good", "fair", "poor")
NOTE_KINDS: tuple[str, ...] = ("win_loss", "churn", "delivery_fit", "interview")

LOSS_REASONS: tuple[str | None, ...] = (
    "Price", "Missing feature", "Lost to competitor", "Timing", "No budget",
    "Other", "", None, "No decision",
)
LOSS_REASON_WEIGHTS: tuple[float, ...] = (0.20, 0.15, 0.17, 0.10, 0.10, 0.09, 0.07, 0.08, 0.04)
SPECIFIC_LOSS_REASONS: tuple[str, ...] = ("Price", "Missing feature", "Lost to competitor", "Timing", "No budget")
GENERIC_LOSS_REASONS: tuple[str | None, ...] = ("Other", "", None, "No decision")

SWEET_SPOT_EMPLOYEES: tuple[int, int] = (200, 2000)
LARGE_REVENUE_THRESHOLD: float = 500_000_000.0

WIN_LOGIT: dict[str, float] = {
    "intercept": -1.95,
    "icp_industry": 1.0,
    "sweet_spot_size": 0.95,
    "data_warehouse": 0.9,
    "large_revenue": 0.8,
    "seed_stage": -1.2,
    "referral": 0.8,
}
CHURN_LOGIT: dict[str, float] = {
    "intercept": -0.7,
    "icp_industry": -0.9,
    "sweet_spot_size": -0.8,
    "data_warehouse": -0.9,
    "large_revenue": 1.9,
    "seed_stage": 1.3,
}
REFERRAL_CYCLE_FACTOR: float = 0.6
LARGE_REVENUE_AMOUNT_FACTOR: float = 2.2
LARGE_REVENUE_TTV_FACTOR: float = 2.5
LARGE_REVENUE_TICKET_FACTOR: float = 3.0


@dataclass(frozen=True)
class Stage:
    """One deal stage; `probability` is the forecast win probability of the stage."""

    id: str
    label: str
    probability: float
    is_closed: bool
    is_won: bool
    display_order: int


@dataclass(frozen=True)
class Pipeline:
    """A deal pipeline: an ordered list of stages."""

    id: str
    label: str
    display_order: int
    stages: tuple[Stage, ...]

    @property
    def open_stages(self) -> tuple[Stage, ...]:
        """Stages that are not closed."""
        return tuple(s for s in self.stages if not s.is_closed)

    @property
    def won_stage(self) -> Stage:
        """The closed-won stage."""
        return next(s for s in self.stages if s.is_won)

    @property
    def lost_stage(self) -> Stage:
        """The closed-lost stage."""
        return next(s for s in self.stages if s.is_closed and not s.is_won)


def _stages(spec: tuple[tuple[str, str, float, bool, bool], ...]) -> tuple[Stage, ...]:
    return tuple(Stage(i, lbl, p, c, w, n) for n, (i, lbl, p, c, w) in enumerate(spec))


DEFAULT_PIPELINE = Pipeline(
    id="default",
    label="Sales Pipeline",
    display_order=0,
    stages=_stages((
        ("appointmentscheduled", "Appointment Scheduled", 0.2, False, False),
        ("qualifiedtobuy", "Qualified To Buy", 0.4, False, False),
        ("presentationscheduled", "Presentation Scheduled", 0.6, False, False),
        ("decisionmakerboughtin", "Decision Maker Bought-In", 0.8, False, False),
        ("contractsent", "Contract Sent", 0.9, False, False),
        ("closedwon", "Closed Won", 1.0, True, True),
        ("closedlost", "Closed Lost", 0.0, True, False),
    )),
)
ENTERPRISE_PIPELINE = Pipeline(
    id="75412093",
    label="Enterprise",
    display_order=1,
    stages=_stages((
        ("75412094", "Discovery", 0.1, False, False),
        ("75412095", "Security Review", 0.3, False, False),
        ("75412096", "Business Case", 0.5, False, False),
        ("75412097", "Procurement", 0.8, False, False),
        ("75412098", "Signed", 1.0, True, True),
        ("75412099", "Lost", 0.0, True, False),
    )),
)
PIPELINES: tuple[Pipeline, ...] = (DEFAULT_PIPELINE, ENTERPRISE_PIPELINE)


def find_stage(pipeline_id: str, stage_id: str) -> Stage | None:
    """Return the stage `stage_id` of pipeline `pipeline_id`, or None when unknown."""
    for pipeline in PIPELINES:
        if pipeline.id == pipeline_id:
            return next((s for s in pipeline.stages if s.id == stage_id), None)
    return None
