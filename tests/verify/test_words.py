"""Every rule whose findings can name a clinic has its plain words on the clinic page."""

from __future__ import annotations

from ingestion.contract import COMPLAINT_TYPES
from quality.rules import RULES
from verify.words import COMPLAINT_WORDS, CONSUMER_WORDS


def test_every_rule_that_names_a_clinic_has_consumer_words():
    naming_a_clinic = {rule.rule_id for rule in RULES if rule.entity_type != "table"}
    assert naming_a_clinic == set(CONSUMER_WORDS)
    assert all(words.strip() for words in CONSUMER_WORDS.values())


def test_every_complaint_type_of_the_contract_has_chinese_words():
    assert set(COMPLAINT_WORDS) == set(COMPLAINT_TYPES)
