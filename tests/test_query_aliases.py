"""Entity aliases: the bundled file, user extensions, and broken files."""

from __future__ import annotations

import pytest

from core.errors import ConfigError
from core.query import Document, default_aliases, load_aliases, parse


def fired(query: str, text: str, aliases=None) -> list[str]:
    return parse(query, aliases=aliases).match(Document(text=text)).labels


@pytest.mark.parametrize(
    "text",
    [
        "МВД Таджикистана сообщило",
        "в МВД Республики Таджикистан",
        "ВКД хабар дод",
        "Вазорати корҳои дохилии Ҷумҳурии Тоҷикистон",
        "вазорати корхои дохилии Точикистон",
        "Tajikistan's Interior Ministry said",
        "the Ministry of Internal Affairs of Tajikistan",
    ],
)
def test_tajik_interior_ministry_in_three_languages(text):
    assert fired("@tj-interior-ministry", text)


@pytest.mark.parametrize(
    "text",
    [
        "Министерство труда, миграции и занятости населения Республики Таджикистан",
        "Минтруда РТ",
        "Вазорати меҳнат, муҳоҷират ва шуғли аҳолӣ",
        "Tajikistan's Labour Ministry",
        "Ministry of Labor, Migration and Employment of Population",
    ],
)
def test_tajik_labour_ministry(text):
    assert fired("@tj-labour-ministry", text)


@pytest.mark.parametrize(
    ("entity", "text"),
    [
        ("ru-interior-ministry", "МВД России сообщило"),
        ("ru-interior-ministry", "Russia's Interior Ministry said"),
        ("ru-interior-ministry", "ВКД-и Русия"),
        ("dushanbe", "в Душанбе"),
        ("moscow", "дар шаҳри Маскав"),
        ("moscow", "в Москве"),
        ("tajikistan", "граждане Таджикистана"),
        ("tajikistan", "таджикские мигранты"),
        ("russia", "Федератсияи Русия"),
        ("uzbekistan", "Ӯзбекистон"),
        ("kyrgyzstan", "Киргизии"),
        ("kyrgyzstan", "Kyrgyz workers"),
    ],
)
def test_seed_entities(entity, text):
    assert fired(f"@{entity}", text)


def test_entity_label_is_shown_with_the_documents_words():
    assert fired("@tj-interior-ministry", "ВКД хабар дод") == ["МВД Таджикистана ≈ ВКД"]


def test_russian_ministry_is_not_the_tajik_one():
    assert not fired("@tj-interior-ministry", "МВД России сообщило")


@pytest.mark.parametrize(
    ("entity", "text"),
    [
        # transliteration: "Корея"/"Korea" share the key of the Tajik "кор" (work),
        # "Россия" that of "rose", "Китай" that of "kit"
        ("other-countries", "вай дар Русия кор мекунад"),
        ("other-countries", "a first-aid kit"),
        ("russia", "remittances rose by a fifth"),
        # the Tajik stemmer cuts "Ҷопон" to "чоп" (print) and "Покистон" to "пок" (clean)
        ("other-countries", "китоб чоп шуд"),
        ("other-countries", "оби пок"),
    ],
)
def test_country_names_do_not_match_common_words(entity, text):
    assert not fired(f"@{entity}", text)


@pytest.mark.parametrize(
    ("entity", "text"),
    [
        ("other-countries", "Ҷумҳурии Корея"),
        ("other-countries", "дар Ҷопон"),
        ("other-countries", "ба Покистонро"),
        ("other-countries", "South Korea"),
        ("russia", "в России"),
        ("russia", "дар Русия"),
    ],
)
def test_country_names_written_as_exact_forms_still_match(entity, text):
    assert fired(f"@{entity}", text)


@pytest.mark.parametrize(
    "text",
    [
        "Мигрант предъявил полис ОМС в поликлинике",
        "Без полис ДМС работодатель не оформит патент",
        "Водитель купил полис ОСАГО онлайн",
        "Страховой полис теперь можно оформить онлайн",
        "Медицинский полис стал обязательным",
        "Нужен полис обязательного медицинского страхования",
        "В полисе ОМС указан неверный адрес",
        "Муҳоҷирон бояд полиси суғуртаи тиббӣ дошта бошанд",
        # named once, then just "полис"
        (
            "Компания продаёт полисы ДМС для мигрантов. По словам менеджера, полис стоит "
            "четыре тысячи рублей, а в полисе указан срок действия."
        ),
        "Дар Маскав полиси суғуртаи тиббӣ мефурӯшанд. Нархи полис аз 4 ҳазор рубл аст.",
    ],
)
def test_insurance_policy_is_not_the_police_authority(text):
    assert not fired("@police-authority", text)


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("Ба гуфтаи полис, ҳодиса рух дод", "полис"),
        ("Полиси Русия ду муҳоҷирро боздошт кард", "Полиси"),
        # the police beside an insurance policy is still the police
        ("Полиция проверила у мигранта полис ОМС", "Полиция"),
        ("ВКД хабар дод, ки муҳоҷир полиси суғурта надошт", "ВКД"),
        # between two insurance "полис" words: only the pattern's own words are dropped
        ("Полис ДМС проверила полиция, и полис оказался поддельным", "полиция"),
        # far from the insurance wording (more than 50 words), "полис" is the police again
        (
            "Полис муҳоҷирро боздошт кард. "
            + "Ӯ дар бозор кор мекард. " * 13
            + "Ширкат полиси суғурта мефурӯшад.",
            "Полис",
        ),
    ],
)
def test_police_beside_an_insurance_policy_is_still_police(text, word):
    assert fired("@police-authority", text) == [f"police or interior ministry ≈ {word}"]


def test_insurance_policy_does_not_make_a_representation_abroad():
    story = Document(
        title="Полис ОМС для мигрантов",
        text="Страховая компания открыла представительство в Москве: полис ОМС для "
        "мигрантов из Таджикистана теперь можно купить там же, где патент.",
    )
    police = Document(
        title="Полиция Таджикистана откроет представительство в Москве",
        text="Представительство начнёт работу весной.",
    )
    query = parse("@police-authority NEAR/12 @representation")
    assert not query.match(story)
    assert query.match(police)


def test_user_file_adds_not_within_patterns(tmp_path):
    extra = tmp_path / "mine.yaml"
    extra.write_text(
        "entities:\n"
        "  police-authority:\n"
        "    aliases: [=police]\n"
        "    not_within: ['\"police academy\"', 'police NEAR/2 (drama OR series)']\n",
        encoding="utf-8",
    )
    table = load_aliases(extra)
    assert not fired("@police-authority", "a new police drama on television", table)
    assert not fired("@police-authority", "she left the Police Academy", table)
    assert fired("@police-authority", "the police academy cadets met the police", table)
    # the bundled patterns stay
    assert not fired("@police-authority", "полис ОМС", table)


def test_every_bundled_alias_parses():
    for name in default_aliases().names():
        assert parse(f"@{name}").root.expansion  # type: ignore[union-attr]


def test_user_file_extends_and_adds_entities(tmp_path):
    extra = tmp_path / "mine.yaml"
    extra.write_text(
        "entities:\n"
        "  dushanbe:\n"
        "    aliases: [Сталинабад]\n"
        "  khujand-police:\n"
        "    label: УВД Согда\n"
        "    aliases: [УВД Согдийской области, Раёсати ВКД дар вилояти Суғд]\n",
        encoding="utf-8",
    )
    table = load_aliases(extra)
    assert fired("@dushanbe", "в Сталинабаде", table)
    assert fired("@dushanbe", "в Душанбе", table)
    assert fired("@khujand-police", "Раёсати ВКД дар вилояти Суғд", table) == [
        "УВД Согда ≈ Раёсати ВКД дар вилояти Суғд"
    ]
    assert fired("@dushanbe", "в Сталинабаде", extra)  # a path works as well


def test_replace_drops_bundled_aliases(tmp_path):
    extra = tmp_path / "mine.yaml"
    extra.write_text("entities:\n  moscow:\n    replace: true\n    aliases: [Мск]\n", "utf-8")
    table = load_aliases(extra)
    assert fired("@moscow", "Мск", table)
    assert not fired("@moscow", "Москва", table)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("entities: [a, b]", "mapping 'entities:'"),
        ("entities:\n  x:\n    aliases: []\n", "non-empty list"),
        ("entities:\n  'bad name':\n    aliases: [a]\n", "letters, digits"),
        ("entities:\n  x:\n    aliases: [a, 3]\n", "non-empty string"),
        ("entities: {x: [a", "not valid YAML"),
        ("entities:\n  x:\n    aliases: [a]\n    not_within: b\n", "'not_within' must be"),
    ],
)
def test_broken_alias_files_name_the_problem(tmp_path, content, fragment):
    path = tmp_path / "bad.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=fragment):
        load_aliases(path)


def test_missing_alias_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read alias file"):
        load_aliases(tmp_path / "nope.yaml")


def test_alias_with_bad_syntax_is_reported_when_used(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("entities:\n  x:\n    aliases: ['\"a b\"~']\n", encoding="utf-8")
    table = load_aliases(path, include_default=False)
    with pytest.raises(ConfigError, match="alias '\"a b\"~' of entity '@x'"):
        parse("@x", aliases=table)


def test_not_within_pattern_must_say_where_it_matched(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("entities:\n  x:\n    aliases: [a]\n    not_within: ['a AND b']\n", "utf-8")
    table = load_aliases(path, include_default=False)
    with pytest.raises(ConfigError, match="not_within 'a AND b' of entity '@x' must be"):
        parse("@x", aliases=table)
