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


@pytest.mark.parametrize(
    ("text", "lang", "not_there"),
    [
        # Stems and transliterations that met common words
        ("По данным МВД, офис откроется весной", None, "denmark"),
        ("Парвандаи ҷиноӣ оғоз шуд", "tg", "china"),
        ("Ҳукумат қарор қабул кард", "tg", "afghanistan"),
        ("Идора дар маркази шаҳр қарор дорад", "tg", "approve"),
        ("Как указано в документе, квоты сохранятся", None, "approve"),
        ("Подписывайтесь на наш канал", None, "sign"),
        ("Подписывайтесь на наш канал", None, "signing"),
        ("The two services work closely together", None, "close"),
        ("Тоҷикистону Русия созишнома бастанд", "tg", "close"),
        ("Число мигрантов выросло, рост составил 5%", None, "rostov"),
        ("Либо квоты сократят, либо отменят", None, "libya"),
        ("Сведения о мигрантах передали в МВД", None, "sweden"),
        ("Груз задержали на таможне", None, "georgia"),
        ("The trip took three days", None, "japan"),
        ("He came back from the venue", None, "azerbaijan"),
        ("He came back from the venue", None, "austria"),
        # Moscow's streets, stations and courts carry other cities' names
        ("Тверской суд Москвы арестовал мигранта", None, "tver"),
        ("Мигрантов задержали у Курского вокзала", None, "kursk"),
    ],
)
def test_common_words_are_not_places_or_acts(text: str, lang: str | None, not_there: str) -> None:
    concepts = default_lexicon().concepts_of(analyze_document(Document(title=text, lang=lang)))
    assert not_there not in concepts


@pytest.mark.parametrize(
    ("text", "lang", "there"),
    [
        ("Дания и Таджикистан подписали соглашение", None, "denmark"),
        ("Премьер Дании прибыл в Душанбе", None, "denmark"),
        ("Chinese workers arrive in Dushanbe", None, "china"),
        ("Талибы в Кабуле приняли делегацию", None, "afghanistan"),
        ("Ҳукумат қарор қабул кард", "tg", "approve"),
        ("Путин подписал указ о квотах", None, "approve"),
        ("Россия и Таджикистан подпишут соглашение", None, "sign"),
        ("Тоҷикистону Русия созишнома бастанд", "tg", "sign"),
        ("The office was closed in May", None, "close"),
        ("Мигранта экстрадировали в Душанбе", None, "extradition"),
        ("Мигранты застряли в Калининграде", None, "kaliningrad"),
        ("Рейс из Нижнего Новгорода прибыл в Душанбе", None, "nizhny-novgorod"),
        ("В Курской области задержали мигрантов", None, "kursk"),
        # A ban lifted is a ban suspended, in each language; Tajik writes the ban two ways.
        ("Россия сняла запрет на въезд с 3214 граждан", None, "suspend"),
        ("Russia has lifted entry bans on 3,214 Tajik citizens", None, "suspend"),
        ("Русия манъи воридшавии 3214 тоҷикистониро бекор кард", "tg", "suspend"),
        ("Русия манъи воридшавии 3214 тоҷикистониро бекор кард", "tg", "deportation"),
    ],
)
def test_the_exact_forms_still_find_their_concepts(text: str, lang: str | None, there: str) -> None:
    concepts = default_lexicon().concepts_of(analyze_document(Document(title=text, lang=lang)))
    assert there in concepts


@pytest.mark.parametrize(
    ("text", "lang", "there"),
    [
        # People of a country, as Russian headlines name them, are the country.
        ("Таджикистан выдворил 25 афганцев через Пяндж", "ru", "afghanistan"),
        ("В Сеуле задержали корейцев, нанимавших мигрантов", "ru", "korea"),
        ("Немцы ужесточили правила для мигрантов", "ru", "germany"),
        ("Китайцы построят общежитие для рабочих", "ru", "china"),
        ("Египтяне и иракцы среди задержанных", "ru", "egypt"),
        # Tajik writes the Emirates "Аморати Муттаҳидаи Араб", short "АМА".
        ("Вазири меҳнат бо сафири АМА мулоқот кард", "tg", "uae"),
        ("сафири Аморати Муттаҳидаи Арабро пазируфт", "tg", "uae"),
        ("Делегация прибыла в Абу-Даби", "ru", "uae"),
        # A verdict is an act of its own: not the arrest, not the extradition.
        ("Бывшего чиновника приговорили к 11 годам", "ru", "sentence"),
        ("Ҷамшед Назаров ба 11 соли зиндон маҳкум шуд", "tg", "sentence"),
        ("Former official sentenced to 11 years in prison", "en", "sentence"),
    ],
)
def test_peoples_emirates_and_verdicts_find_their_concepts(
    text: str, lang: str, there: str
) -> None:
    concepts = default_lexicon().concepts_of(analyze_document(Document(title=text, lang=lang)))
    assert there in concepts
