"""Vocabulary for generated company names, people and note text."""

from __future__ import annotations

NAME_PREFIXES: tuple[str, ...] = (
    "Acme", "Apex", "Arbor", "Argent", "Aster", "Atlas", "Aurora", "Axis", "Beacon", "Birch",
    "Blue", "Bold", "Bright", "Cedar", "Cinder", "Clear", "Cobalt", "Copper", "Coral", "Crest",
    "Crown", "Delta", "Drift", "Eagle", "Echo", "Ember", "Evergreen", "Falcon", "Fern", "Flint",
    "Fox", "Frontier", "Galaxy", "Garnet", "Glacier", "Golden", "Granite", "Green", "Harbor", "Hawk",
    "Helix", "Horizon", "Indigo", "Iron", "Ivory", "Jade", "Juniper", "Keystone", "Kite", "Lake",
    "Lantern", "Laurel", "Liberty", "Lumen", "Lunar", "Maple", "Marble", "Meadow", "Meridian", "Mesa",
    "Metro", "Mint", "Monarch", "Nimbus", "North", "Nova", "Oak", "Onyx", "Orbit", "Orchid",
    "Pacific", "Peak", "Pine", "Pioneer", "Polar", "Prairie", "Prism", "Quartz", "Quest", "Radiant",
    "Raven", "Redwood", "Ridge", "River", "Rock", "Sage", "Sapphire", "Sierra", "Silver", "Slate",
    "Solar", "Spark", "Spruce", "Stone", "Summit", "Swift", "Terra", "Tide", "Timber", "Trail",
    "True", "Union", "Vale", "Vector", "Velvet", "Vertex", "Vista", "Willow", "Wind", "Zenith",
)

NAME_CORES: tuple[str, ...] = (
    "bridge", "works", "point", "field", "line", "stack", "wave", "logic", "path", "gate",
    "forge", "labs", "mark", "sight", "base", "flow", "grid", "hub", "loop", "mind",
    "scape", "shift", "sphere", "signal", "soft", "source", "span", "stream", "tech", "vault",
    "view", "ware", "well", "wing", "yard", "core", "craft", "data", "dock", "edge",
)

NAME_SUFFIXES: tuple[str, ...] = (
    "Inc.", "Labs", "Group", "Systems", "Technologies", "Partners", "Holdings", "Co.",
    "Solutions", "Ltd", "GmbH", "Analytics",
)

DOMAIN_TLDS: tuple[str, ...] = (".com", ".com", ".com", ".io", ".co", ".net")

FIRST_NAMES: tuple[str, ...] = (
    "Avery", "Blake", "Casey", "Dana", "Elliot", "Frankie", "Gray", "Harper", "Indy", "Jordan",
    "Kai", "Logan", "Morgan", "Noel", "Oakley", "Parker", "Quinn", "Riley", "Sawyer", "Taylor",
    "Uma", "Val", "Wren", "Yael", "Zion", "Alex", "Bailey", "Cameron", "Drew", "Emerson",
)

LAST_NAMES: tuple[str, ...] = (
    "Abbott", "Barker", "Castillo", "Dalton", "Ellison", "Fischer", "Garcia", "Hughes", "Ibarra",
    "Jensen", "Kowalski", "Lindqvist", "Moreau", "Nakamura", "Okafor", "Patel", "Quintero",
    "Rossi", "Schmidt", "Tanaka", "Usman", "Varga", "Whitaker", "Xu", "Young", "Zimmer",
)

DEAL_PRODUCTS: tuple[str, ...] = ("Platform", "Analytics Suite", "Expansion", "Pilot", "Data Add-on")

COMPETITORS: tuple[str, ...] = (
    "Northwind Insights", "Globex Data", "Initech Revenue", "Umbrella Analytics", "In-house build",
)

WIN_NOTES: tuple[str, ...] = (
    "Closed won with {company}. Champion pushed it through procurement in {days} days.",
    "Won: {company} chose us after the technical deep dive; the data team liked the warehouse sync.",
    "Signed {company} for {amount}. Decision driven by time saved on reporting.",
    "{company} signed. They compared two vendors and picked us for the integration depth.",
    "Won {company}. Referral from an existing customer made the evaluation short.",
)

LOSS_NOTES: dict[str, tuple[str, ...]] = {
    "price": (
        "Lost {company} on price. They felt the platform fee was too high for their size.",
        "{company} went dark after the pricing call. Budget holder said we were 30% over.",
    ),
    "missing feature": (
        "Lost {company}: they needed a native connector we do not have yet.",
        "{company} passed because reporting on their own warehouse tables was not supported.",
    ),
    "competitor": (
        "Lost {company} to {competitor}. They already used another product from them.",
        "{company} picked {competitor}; the deciding factor was an existing relationship.",
    ),
    "timing": (
        "{company} paused the project until next fiscal year.",
        "Lost {company} on timing: a reorg froze all new tooling.",
    ),
    "no budget": (
        "{company} had no budget this year after their funding round slipped.",
        "No budget at {company}. Revisit in two quarters.",
    ),
    "generic": (
        "Closed lost. No further details from {company}.",
        "Deal with {company} closed lost during pipeline cleanup.",
        "Lost {company}.",
    ),
}

CHURN_NOTES: tuple[str, ...] = (
    "{company} did not renew. Onboarding dragged on for months and the team never saw value.",
    "Churned: {company} said the rollout needed too much custom work for their setup.",
    "{company} cancelled after repeated support escalations.",
    "{company} churned; their sponsor left and nobody else used the product.",
    "Renewal lost at {company}. Budget cuts, usage had been flat for two quarters.",
)

DELIVERY_NOTES: dict[str, tuple[str, ...]] = {
    "good": (
        "Delivery at {company} went smoothly; live in {ttv} days with one admin.",
        "{company} was a clean implementation. Their warehouse made the setup quick.",
    ),
    "fair": (
        "Implementation at {company} took {ttv} days; a few data mapping issues along the way.",
        "{company} is live but needed extra training sessions.",
    ),
    "poor": (
        "Delivery at {company} is struggling: {ttv} days in and still not live.",
        "{company} needs heavy custom work; the services team is stretched on this account.",
    ),
}

INTERVIEW_NOTES: tuple[str, ...] = (
    'Customer interview with {company}: "We finally trust the pipeline numbers we show the board."',
    'Interview, {company}: "Setup was easy because everything already lived in our warehouse."',
    'Win/loss interview with {company}: "The price was fine, the missing integrations were not."',
    'Interview with {company}: "Your team answered every security question within a day."',
    'Call with {company}: "We are a small team and this felt built for a bigger company."',
)
