"""One language detector (core.language) for extraction, the pipeline and queries.

The neighbours it must tell apart: Russian and Tajik, and Kazakh, Kyrgyz,
Uzbek (Cyrillic and Latin), Belarusian and Ukrainian, each of which an older
letter count took for one of the first two. A declared language is a hint:
short texts keep it, a strong text signal overrules it.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.language import detect_language, normalize_language
from core.query import Document, analyze_document
from crawler.extraction import extract_article
from crawler.items import StoryItem
from crawler.pipelines.dedupe import DedupePipeline
from crawler.pipelines.normalize import normalize_story
from crawler.spiders.feeds import complete_item
from crawler.storage import store_story
from db.models import Story
from db.session import unit_of_work

# Two news-like passages per language: an office opening, a rule change.
PASSAGES = {
    "ru": [
        (
            "Министерство внутренних дел Таджикистана открыло представительство в Москве. Об этом "
            "сообщила пресс-служба ведомства. Представительство будет помогать трудовым мигрантам "
            "и развивать сотрудничество полиции."
        ),
        (
            "Миграционная служба изменила порядок регистрации иностранных граждан. Новые правила "
            "вступят в силу со следующего месяца, сообщило министерство."
        ),
    ],
    "tg": [
        (
            "Вазорати корҳои дохилии Ҷумҳурии Тоҷикистон дар шаҳри Маскав намояндагии худро кушод. "
            "Дар ин бора хадамоти матбуотии вазорат хабар дод. Намояндагӣ ба муҳоҷирони меҳнатӣ "
            "кӯмак мерасонад ва ҳамкориҳои пулисро рушд медиҳад."
        ),
        (
            "Хадамоти муҳоҷират тартиби бақайдгирии шаҳрвандони хориҷиро тағйир дод. Қоидаҳои нав "
            "аз моҳи оянда эътибор пайдо мекунанд, хабар дод вазорат."
        ),
    ],
    "kk": [
        (
            "Қазақстан Республикасы Ішкі істер министрлігінің өкілдігі Мәскеуде ашылды. Бұл туралы "
            "ведомствоның баспасөз қызметі хабарлады. Өкілдік еңбек мигранттарына көмек көрсетеді "
            "және полиция ынтымақтастығын дамытады."
        ),
        (
            "Көші-қон полициясы шетелдік азаматтарды тіркеу тәртібін өзгертті. Жаңа ережелер келесі "
            "айдан бастап күшіне енеді, деп хабарлады министрлік."
        ),
    ],
    "ky": [
        (
            "Кыргыз Республикасынын Ички иштер министрлигинин өкүлчүлүгү Москвада ачылды. Бул "
            "тууралуу министрликтин басма сөз кызматы билдирди. Өкүлчүлүк эмгек мигранттарына "
            "жардам берет жана полициялык кызматташтыкты өнүктүрөт."
        ),
        (
            "Миграция кызматы чет элдик жарандарды каттоо тартибин өзгөрттү. Жаңы эрежелер "
            "кийинки айдан баштап күчүнө кирет деп билдирди министрлик."
        ),
    ],
    "uz": [
        (
            "Ўзбекистон Республикаси Ички ишлар вазирлигининг ваколатхонаси Москвада очилди. Бу "
            "ҳақда вазирлик матбуот хизмати хабар берди. Ваколатхона меҳнат мигрантларига ёрдам "
            "беради ва полиция ҳамкорлигини ривожлантиради."
        ),
        (
            "Миграция хизмати хорижий фуқароларни рўйхатга олиш тартибини ўзгартирди. Янги "
            "қоидалар келгуси ойдан бошлаб кучга киради, деб хабар берди вазирлик."
        ),
        (
            "Oʻzbekiston Respublikasi Ichki ishlar vazirligining vakolatxonasi Moskvada ochildi. Bu "
            "haqda vazirlik matbuot xizmati xabar berdi. Vakolatxona mehnat migrantlariga yordam "
            "beradi va politsiya hamkorligini rivojlantiradi."
        ),
        # Latin Uzbek as often typed, with ASCII apostrophes.
        (
            "Migratsiya xizmati xorijiy fuqarolarni ro'yxatga olish tartibini o'zgartirdi. Yangi "
            "qoidalar kelgusi oydan boshlab kuchga kiradi, deb xabar berdi vazirlik."
        ),
    ],
    "be": [
        (
            "Міністэрства ўнутраных спраў Беларусі адкрыла сваё прадстаўніцтва ў Маскве. Пра гэта "
            "паведаміла прэс-служба ведамства. Прадстаўніцтва будзе дапамагаць працоўным мігрантам "
            "і развіваць супрацоўніцтва паліцыі."
        ),
        (
            "Міграцыйная служба змяніла парадак рэгістрацыі замежных грамадзян. Новыя правілы "
            "ўступяць у сілу з наступнага месяца, паведаміла міністэрства."
        ),
    ],
    "uk": [
        (
            "Міністерство внутрішніх справ України відкрило своє представництво у Варшаві. Про це "
            "повідомила пресслужба відомства. Представництво допомагатиме трудовим мігрантам і "
            "розвиватиме співпрацю поліції."
        ),
        (
            "Міграційна служба змінила порядок реєстрації іноземних громадян. Нові правила "
            "набудуть чинності з наступного місяця, повідомило міністерство."
        ),
    ],
    "en": [
        (
            "The Interior Ministry of Tajikistan opened an office in Moscow to help labour migrants, "
            "the ministry said on Monday."
        ),
        (
            "The migration service has changed the rules for registering foreign citizens. The new "
            "rules take effect next month, the ministry said."
        ),
    ],
}
CASES = [(lang, text) for lang, texts in PASSAGES.items() for text in texts]


@pytest.mark.parametrize(("expected", "text"), CASES)
def test_each_neighbour_is_told_apart(expected: str, text: str) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize(("expected", "text"), CASES)
@pytest.mark.parametrize("declared", ["ru", "tg", "kk", "ky", "en"])
def test_a_clear_text_overrules_a_wrong_declaration(
    expected: str, text: str, declared: str
) -> None:
    assert detect_language(text, declared) == expected


def test_tajik_typed_without_its_letters_is_tajik_by_its_words() -> None:
    text = (
        "Вазорати корхои дохилии Чумхурии Точикистон дар шахри Маскав намояндагии худро "
        "кушод. Дар ин бора хадамоти матбуотии вазорат хабар дод."
    )
    assert detect_language(text) == "tg"
    assert detect_language(text, "ru") == "tg"


def test_names_in_another_language_do_not_make_a_russian_story_kazakh() -> None:
    text = (
        "Президент Казахстана Қасым-Жомарт Тоқаев провёл встречу с министром внутренних дел. "
        "Об этом сообщила пресс-служба Ақорды."
    )
    assert detect_language(text) == "ru"
    assert detect_language(text, "ru") == "ru"


@pytest.mark.parametrize(
    ("text", "declared"),
    [
        ("Қазақстан жаңалықтары", "ru"),  # Kazakh letters, but a headline's worth
        ("Новости Таджикистана", "tg"),
        ("Ҳукумат", "ru"),
        ("Nouvelles du jour", "fr"),
        ("The news", "ru"),
    ],
)
def test_short_texts_keep_the_declared_language(text: str, declared: str) -> None:
    assert detect_language(text, declared) == declared


def test_a_declared_language_it_cannot_tell_is_overruled_only_by_letters_it_lacks() -> None:
    bulgarian = "Министерството на вътрешните работи откри представителство в Москва днес."
    assert detect_language(bulgarian, "bg") == "bg"
    mongolian = (
        "Монгол Улсын Гадаад харилцааны яам Москвад төлөөлөгчийн газар нээлээ. Энэ тухай "
        "яамны хэвлэлийн алба мэдээлэв."
    )
    assert detect_language(mongolian, "mn") == "mn"  # ө and ү are Mongolian letters too
    assert detect_language(PASSAGES["kk"][0], "bg") == "kk"
    french = "Le ministère de l'Intérieur a ouvert un bureau à Moscou pour aider les migrants."
    assert detect_language(french, "fr") == "fr"
    assert detect_language(french) is None
    assert detect_language(PASSAGES["en"][1], "fr") == "en"
    turkish = (
        "İçişleri Bakanlığı bu hafta Moskova'da bir temsilcilik açtı. Bakanlık, temsilciliğin "
        "göçmen işçilere yardım edeceğini ve polis işbirliğini geliştireceğini bildirdi."
    )
    assert detect_language(turkish) is None  # bu and bir are Uzbek words too
    assert detect_language(turkish, "tr") == "tr"


def test_normalize_language() -> None:
    values = ("ru-RU", "ru_RU", "EN", "tj", "kk-Cyrl-KZ", "x-klingon", "", None)
    assert [normalize_language(v) for v in values] == [
        "ru", "ru", "en", "tg", "kk", None, None, None,
    ]  # fmt: skip


@pytest.mark.parametrize("lang", ["kk", "ky", "uz", "be", "uk"])
def test_lang_field_of_a_query_uses_the_same_detector(lang: str) -> None:
    assert analyze_document(Document(text=PASSAGES[lang][0])).lang == lang
    assert analyze_document(Document(text=PASSAGES[lang][0], lang="tj")).lang == "tg"


def _page(paragraphs: list[str], lang: str) -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>Жаңалық</title>'
        f"</head><body><article><h1>Жаңалық</h1>{body}</article></body></html>"
    ).encode()


@pytest.mark.parametrize("lang", ["kk", "be", "ky", "uz", "uk"])
def test_the_stored_language_is_the_one_extraction_found(
    lang: str, session_factory: sessionmaker[Session]
) -> None:
    """The page (a site-wide lang="ru") and the feed say Russian; the text says otherwise."""
    url = f"https://example.org/{lang}/1"
    page = _page(PASSAGES[lang][:2] * 2, "ru")
    result = extract_article(page, url=url)
    assert result.article is not None and result.article.language == lang
    item = StoryItem(
        url=url,
        source_id=None,
        source_name="wire",
        title=PASSAGES[lang][0].split(".")[0],
        body="summary",
        language="ru",
        fetched_at=datetime(2026, 11, 1, tzinfo=UTC),
    )
    assert complete_item(item, url, result)
    normalize_story(item)
    DedupePipeline().process_item(item)
    with unit_of_work(session_factory) as session:
        store_story(session, item)
    with session_factory() as session:
        assert session.scalar(select(Story.language).where(Story.url == url)) == lang


def test_a_feed_entry_is_detected_with_the_feed_language_as_hint() -> None:
    item = StoryItem(
        url="https://example.org/kk/2",
        source_id=None,
        source_name="wire",
        title="Жаңалық",
        body=PASSAGES["kk"][1],
        language="ru",
    )
    assert normalize_story(item).language == "kk"
    short = StoryItem(url="https://example.org/3", source_id=None, source_name="w", title="Ҳукумат")
    short.language = "ru"
    assert normalize_story(short).language == "ru"
