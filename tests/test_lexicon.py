"""The beat's lexicon: concepts that hold across languages and do not catch look-alikes."""

from __future__ import annotations

import pytest

from core.lexicon import default_lexicon
from core.query import Document, analyze_document


def _concepts(text: str) -> frozenset[str]:
    return default_lexicon().concepts_of(analyze_document(Document(text=text)))


@pytest.mark.parametrize(
    "text",
    [
        "Мигрантам без полиса ОМС откажут в патенте",
        "Стоимость полиса ДМС для трудовых мигрантов выросла",
        "Страховой полис теперь можно оформить онлайн",
        "Мигрант предъявил полис ОМС в поликлинике",
        "Медицинский полис стал обязательным",
    ],
)
def test_russian_insurance_policy_is_not_police(text: str) -> None:
    concepts = _concepts(text)
    assert "police" not in concepts and "police-authority" not in concepts


@pytest.mark.parametrize(
    "text",
    [
        "Ба гуфтаи полис, ҳодиса дар маҳаллаи Бруклин рух дод",
        "Полиси Русия ду муҳоҷирро боздошт кард",
        "Полисҳои турк ба сайёҳон кӯмак мерасонанд",
        "Дар Маскав полисро даъват карданд",
        # Russian police words still count beside an insurance policy
        "Полиция проверила у мигранта полис ОМС",
    ],
)
def test_tajik_police_forms_are_police(text: str) -> None:
    assert "police" in _concepts(text)


def test_tajik_police_is_also_the_police_authority_entity() -> None:
    assert "police-authority" in _concepts("Ба гуфтаи полис, ҳодиса рух дод")


@pytest.mark.parametrize(
    "text",
    [
        "МВД Таджикистана откроет представительство в Москве с дипломатическим статусом.",
        "Вазорати корҳои дохилӣ дар Маскав намояндагӣ мекушояд; полиси Русия дар Душанбе.",
        "The interior ministries signed a readmission agreement and a police cooperation memorandum.",
        "Страховой полис ОМС можно оформить онлайн.",
        "Nothing on the beat here: a football transfer and the weather.",
    ],
)
def test_concept_names_are_those_the_full_match_finds(text: str) -> None:
    """The event signature asks only for names, through the cheaper yes/no check."""
    lexicon = default_lexicon()
    document = analyze_document(Document(title=text[:40], text=text))
    assert lexicon.concepts_of(document) == frozenset(name for name, _ in lexicon.match(document))
