"""The rule catalogue is the one statement of every rule's numbers (quality/rules.py)."""

from __future__ import annotations

import re
from pathlib import Path

from quality.rules import RULES, parameters_markdown, rule_parameters

ROOT = Path(__file__).resolve().parents[2]
# Where a rule's number could be restated: the code that applies the rules.
SOURCES = (
    "dbt_project/models",
    "dbt_project/macros",
    "dbt_project/seeds",
    "dbt_project/dbt_project.yml",
    "quality",
    "report",
    "generator",
    "orchestration",
    "ingestion",
    "serving",
    "yimei_cli",
    "bi",
)
CATALOGUE = ROOT / "quality" / "rules.py"

# Each parameter's literal as it would read where restated: the number with its unit.
UNIT = r"\s*(?:\*\s*|-|_)?"
LITERALS = {
    ("GOV-06", "review_window_days"): [rf"\b90{UNIT}(?:days?|天|DAY)\b"],
    ("GOV-07", "burst_min_reviews"): [r"\b5\s+(?:or more\s+)?(?:near-identical\s+)?reviews"],
    ("GOV-07", "burst_window_hours"): [rf"\b24{UNIT}(?:hours?|小时)\b", r"24 \* 3600"],
    ("GOV-07", "min_similarity"): [r"similarit\D{0,30}0\.9\b", r"0\.9\D{0,12}similarit", r"\b90%"],
    ("GOV-07", "shared_ip_min_users"): [r"\b3\s+(?:or more\s+)?(?:different|distinct)?\s*users"],
    ("GOV-07", "shared_ip_window_days"): [rf"\b7{UNIT}(?:days?|天)\b", r"7 \* DAY"],
    ("GOV-08", "fee_tolerance_yuan"): [r"\b1(?:\.00)?\s*(?:yuan|元)", r"(?:within|>)\s*1\.00\b"],
    ("GOV-09", "reply_within_hours"): [rf"\b48{UNIT}(?:hours?|h\b|小时)", r"48 \* 3600", "四十八"],
    ("GOV-12", "max_days_behind"): [r"\b2\s+days?\b"],
    ("GOV-12", "volume_ratio_min"): [r"\b50%"],
    ("GOV-12", "volume_ratio_max"): [r"\b200%"],
    ("GOV-12", "volume_window_days"): [rf"\b28{UNIT}(?:days?|天)\b"],
    ("GOV-12", "volume_min_partitions"): [r"\b7\s+(?:earlier\s+)?partitions"],
    ("GOV-13", "min_buyers"): [r"\b10\s*(?:distinct\s+)?(?:buyers|名买家|人)", r">=\s*10\b"],
    ("GOV-14", "grade_caps"): [r"cap\s+[1-4]\b", r"(?:诊所|门诊部|医院|医疗美容科)\W{0,3}[1-4]\b"],
    ("GOV-18", "min_avg_years_experience"): [r"years_experience\W{0,3}>=\s*5\b",
                                              r"averag\w*\D{0,30}\b5\s+years", r"不少于\s*5\s*年"],
    ("GOV-18", "chief_consultant_min_years"): [r"chief\D{0,30}>=\s*15\b", rf"\b15{UNIT}years?",
                                                r"(?<!\d)15\s*年以上"],
    ("GOV-18", "min_doctor_cases"): [r"\b5,?000\s*(?:or more\s+)?cases", r"\b5,?000-case",
                                     r"case\w*\W{0,3}>=\s*5,?000\b", r"(?<!\d)5,?000\s*例"],
    ("GOV-18", "finding_window_days"): [rf"\b90{UNIT}(?:days?|天|DAY)\b", r"(?<!\d)90\s*天"],
    ("GOV-18", "min_avg_score"): [r"averag\w*\D{0,30}\b4\.5\b", r">=\s*4\.5\b", r"不低于\s*4\.5"],
    ("GOV-18", "min_verified_reviews"): [r"\b20\s+(?:verified\s+)?reviews",
                                         r"reviews?\W{0,3}>=\s*20\b", r"(?<!\d)20\s*条"],
}
# Phrases that read like a rule's number and are not one.
NOT_A_RULE = ("in the 24 hours before 09:00",)


def test_the_parameter_table_of_docs_rules_md_is_the_catalogue():
    docs = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert parameters_markdown() in docs, "run `python -m quality.rules` into docs/rules.md"


def test_every_parameter_is_covered_by_the_literal_check():
    numbers = {
        (rule_id, name)
        for rule_id, parameters in rule_parameters().items()
        for name, value in parameters.items()
        if name != "alert_new_findings_above" and not isinstance(value, dict | str)
    }
    # GOV-11's zeros and GOV-06's single receipt cannot be told apart from any other 0 or 1
    unsearchable = {("GOV-11", "min_amount"), ("GOV-11", "hours_after_run_end_allowed")}
    unsearchable |= {("GOV-06", "min_receipts")}
    assert numbers - unsearchable <= set(LITERALS)
    assert {r.rule_id for r in RULES} >= {rule for rule, _ in LITERALS}


def test_no_rule_number_is_stated_outside_the_catalogue():
    found = []
    for source in SOURCES:
        root = ROOT / source
        paths = [root] if root.is_file() else sorted(root.rglob("*"))
        for path in paths:
            if path == CATALOGUE or not path.is_file() or ".venv" in path.parts:
                continue
            if path.suffix not in (".py", ".sql", ".yml", ".yaml", ".csv", ".j2", ".md"):
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if path.suffix == ".yml" and line.startswith("unit_tests:"):
                    break  # dbt's unit tests below: tests state their own numbers
                if any(phrase in line for phrase in NOT_A_RULE):
                    continue
                for (rule_id, name), patterns in LITERALS.items():
                    if any(re.search(pattern, line) for pattern in patterns):
                        relative = path.relative_to(ROOT)
                        found.append(f"{relative}:{number}: {rule_id} {name}: {line.strip()}")
    assert not found, "rule numbers outside quality/rules.py:\n" + "\n".join(found)
