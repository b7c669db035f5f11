"""Same-event grouping: signatures across scripts, the learned pair model, and a quality
floor on the test part of our labelled events (never used for tuning)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bench.events.data import EVENTS_DIR, independent, load_reports
from bench.events.quality import grouping_scores
from core.lexicon import default_lexicon
from core.query import Document, analyze_document
from crawler.events.grouping import group, mean_resemblance, to_fold
from crawler.events.pairs import FEATURES, PairModel, default_model, pair_features
from crawler.events.signature import EventSignature, name_key, named_days, repeats, signature_of
from crawler.telegram import post_title

T0 = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "МВД Таджикистана открыло представительство в Москве",
        "ВКД намояндагии худро дар Маскав кушод",
        "Tajikistan's interior ministry opened an office in Moscow",
    ],
)
def test_one_act_has_the_same_concepts_in_three_languages(text: str) -> None:
    concepts = default_lexicon().concepts_of(analyze_document(Document(title=text)))
    assert {"police", "office", "open", "moscow"} <= concepts


@pytest.mark.parametrize(
    ("title", "lang"),
    [
        ("Дар Душанбе намояндагии ВКД Русия ба кор шурӯъ кард", "tg"),
        ("Вазорати меҳнат дар Маскав намояндагӣ мекушояд", "tg"),
    ],
)
def test_tajik_opens_are_opens_and_work_is_not_korea(title: str, lang: str) -> None:
    concepts = default_lexicon().concepts_of(analyze_document(Document(title=title, lang=lang)))
    assert "open" in concepts and "korea" not in concepts


def test_places_are_told_apart() -> None:
    lexicon = default_lexicon()
    kenya = lexicon.concepts_of(analyze_document(Document(title="Германия и Кения подписали")))
    uzbek = lexicon.concepts_of(analyze_document(Document(title="Germany and Uzbekistan sign")))
    assert "germany" in kenya & uzbek and "kenya" in kenya and "kenya" not in uzbek


def test_names_meet_across_scripts() -> None:
    assert name_key("Душанбе") == name_key("Dushanbe")
    assert name_key("Рахимзода") == name_key("Rahimzoda")


def test_names_skip_sentence_starts_but_keep_abbreviations() -> None:
    signature = signature_of(title="", text="Police met. The MVD office in Dushanbe opened.")
    assert name_key("Dushanbe") in signature.names and name_key("MVD") in signature.names
    assert name_key("Police") not in signature.names and name_key("The") not in signature.names


def test_the_model_reads_the_features_it_was_trained_on() -> None:
    model = default_model()
    assert len(model.weights) == len(FEATURES) and 0 < model.threshold < 1


def _report(title: str, text: str, lang: str, hours: float, url: str = "") -> object:
    return signature_of(
        title=title, text=text, lang=lang, published=T0 + timedelta(hours=hours), url=url or None
    )


def test_reports_of_one_act_group_and_a_later_repeat_does_not() -> None:
    first = _report(
        "В Москве открылось представительство МВД Таджикистана",
        "Представительство Министерства внутренних дел Таджикистана начало работу в Москве. "
        "Офис будет помогать трудовым мигрантам, сообщил замминистра Рахимзода.",
        "ru",
        0,
    )
    english = _report(
        "Tajikistan opens police liaison office in Moscow",
        "Tajikistan's Interior Ministry has opened a representation in Moscow to help "
        "migrant workers, deputy minister Rahimzoda said.",
        "en",
        3,
    )
    tajik = _report(
        "Намояндагии ВКД дар Маскав кушода шуд",
        "Намояндагии Вазорати корҳои дохилии Тоҷикистон дар Маскав ба кор шурӯъ кард. "
        "Муовини вазир Раҳимзода гуфт, ки намояндагӣ ба муҳоҷирони меҳнатӣ кӯмак мекунад.",
        "tg",
        5,
    )
    month_later = _report(
        "В Москве открылось представительство МВД Таджикистана",
        "Представительство Министерства внутренних дел Таджикистана начало работу в Москве.",
        "ru",
        24 * 40,
    )
    events = group([first, english, tajik, month_later])  # type: ignore[list-item]
    assert events[0] == events[1] == events[2] != events[3]


# Batches written by the hands that tuned the model and the lexicon; the others were
# written afterwards by people who had read neither (docs/dedup.md, "Independent batches").
OUR_BATCHES = ("a-", "b-")


@pytest.mark.skipif(not any(EVENTS_DIR.glob("*.jsonl")), reason="labelled events missing")
def test_quality_floor_on_the_test_part() -> None:
    """Floors a little under what bench/events/quality.py measured (docs/dedup.md)."""
    reports = [r for r in load_reports("test") if r.id.startswith(OUR_BATCHES)]
    scores = grouping_scores(reports, default_model())
    assert scores["all"].precision >= 0.95 and scores["all"].recall >= 0.93
    assert scores["cross-language"].precision >= 0.95 and scores["cross-language"].recall >= 0.93


@pytest.mark.skipif(not any(EVENTS_DIR.glob("*.jsonl")), reason="labelled events missing")
def test_quality_floor_on_the_independent_batches() -> None:
    """Their test parts together, grouped as
    one stream: floors a little under the measured figures (``events_c`` to ``events_h``:
    precision 0.840, recall 0.842; cross-language 0.861 / 0.842),
    short of the targets (precision 0.9): they say where the grouping stands on
    writing it was not tuned on, and keep it from slipping back."""
    reports = independent(load_reports("test"))
    scores = grouping_scores(reports, default_model())
    assert scores["all"].precision >= 0.82 and scores["all"].recall >= 0.82
    assert scores["cross-language"].precision >= 0.84 and scores["cross-language"].recall >= 0.82


def feature(a: EventSignature, b: EventSignature, name: str) -> float:
    """One pair feature, every key weighted alike."""
    return pair_features(a, b, lambda key: 1.0)[FEATURES.index(name)]


def test_headlines_say_what_happened_across_languages() -> None:
    russian = signature_of(
        title="Россия и Узбекистан подписали соглашение об оргнаборе мигрантов", text="", lang="ru"
    )
    english = signature_of(
        title="Russia, Uzbekistan sign organised-recruitment deal for migrant workers",
        text="",
        lang="en",
    )
    other_actor = signature_of(
        title="Россия и Таджикистан подписали соглашение об оргнаборе мигрантов", text="", lang="ru"
    )
    assert russian.title_concepts == english.title_concepts

    assert feature(russian, english, "title_concepts_x_other_lang") == pytest.approx(1.0)
    assert feature(russian, english, "title_countries_conflict") == 0.0
    assert feature(english, other_actor, "title_countries_conflict") == 1.0


def test_concepts_count_where_a_headline_names_them() -> None:
    """Two sports reports that both mention Sweden in passing share no subject; two
    reports whose headlines say Sweden closed its border do, in any language."""
    match = signature_of(
        title="Тренер похвалил команду после победы",
        text="Матч прошёл в Швеции, болельщики пели гимн.",
        lang="ru",
    )
    interview = signature_of(
        title="Защитник рассказал о слезах перед игрой",
        text="Игра состоялась в Швеции при полных трибунах.",
        lang="ru",
    )
    border = signature_of(
        title="Швеция закрыла границу для мигрантов",
        text="Власти Швеции закрыли границу для мигрантов из-за наплыва.",
        lang="ru",
    )
    rewrite = signature_of(
        title="Швеция закрыла границу для мигрантов",
        text="Правительство Швеции закрыло границу для мигрантов на месяц.",
        lang="ru",
    )
    english = signature_of(
        title="Sweden closes its border to migrants",
        text="Sweden's government closed the border to migrants for a month.",
        lang="en",
    )

    assert match.concepts & interview.concepts
    assert feature(match, interview, "headline_concepts_in_bodies") == 0.0
    assert feature(border, rewrite, "headline_concepts_in_bodies") == pytest.approx(1.0)
    assert feature(border, english, "headline_concepts_in_bodies") == pytest.approx(1.0)


def test_a_second_flight_says_so_in_its_headline() -> None:
    assert repeats("Второй за лето спецрейс доставил депортированных мигрантов в Душанбе")
    assert repeats("Italy ships second group of migrants to Albania")
    # "Еще"/"боз" (more, again) open a headline on another batch; elsewhere they are
    # too common a word to mean a repeat.
    assert repeats("Боз 165 муҳоҷир ба Душанбе оварда шуданд")
    assert repeats("Еще 145 выдворенных из России мигрантов доставлены в Худжанд")
    assert repeats("Ещё одна группа мигрантов вылетела в Корею")
    assert repeats("145 more Tajik migrants deported from Russia")
    # "Еще один"/"боз як"/"one more" say another of the kind wherever they stand.
    assert repeats("ОАЭ выдали Таджикистану ещё одного разыскиваемого")
    assert repeats("Аз Русия боз як гурӯҳи муҳоҷирон баргашт")
    assert repeats("One more Tajik suspect handed over by the UAE")
    assert not repeats("Мигранты еще не получили патенты")
    assert not repeats("Муҳоҷирон боз ба Маскав рафтанд ва бозгаштанд")
    assert not repeats("Визы введены для России и еще 86 стран")
    assert not repeats("More than 200 migrants deported from Russia")
    assert not repeats("Из Москвы в Душанбе вылетел спецрейс с депортируемыми мигрантами")


def _member(lang: str, post: bool) -> EventSignature:
    url = "https://t.me/channel/1" if post else "https://news.example/a"
    return EventSignature(
        concepts=frozenset(), words={}, names=frozenset(), numbers=frozenset(), lang=lang, url=url
    )


def test_an_article_folds_its_languages_posts_into_the_event_it_joins() -> None:
    tajik_article = _member("tg", post=False)
    events = {
        "tajik posts": [_member("tg", post=True)],
        "russian reports": [_member("ru", post=False), _member("ru", post=True)],
        "english posts": [_member("en", post=True)],
    }
    found = ["tajik posts", "russian reports", "english posts"]  # best first
    target, folded = to_fold(tajik_article, found, events.__getitem__)
    assert target == "russian reports" and folded == ["tajik posts"]


def test_events_holding_the_articles_language_or_only_posts_are_not_folded() -> None:
    tajik_article = _member("tg", post=False)
    events = {
        "tajik posts": [_member("tg", post=True)],
        "mixed reports": [_member("ru", post=False), _member("tg", post=False)],
        "other posts": [_member("ru", post=True)],
    }
    assert to_fold(tajik_article, ["tajik posts", "mixed reports"], events.__getitem__) == (
        "tajik posts",
        [],
    )
    assert to_fold(tajik_article, ["tajik posts", "other posts"], events.__getitem__) == (
        "tajik posts",
        [],
    )


def test_an_event_started_after_a_fold_gets_a_number_of_its_own() -> None:
    """A fold removes an event; the next new event must not take the number the folded
    one had (it would then be reported as part of the event the fold went into)."""
    names_only = PairModel(
        weights=tuple(10.0 if name == "names" else 0.0 for name in FEATURES),
        bias=-2.0,
        threshold=0.5,
        means=tuple(0.0 for _ in FEATURES),
        scales=tuple(1.0 for _ in FEATURES),
    )

    def report(names: set[str], lang: str, hours: int, post: bool = False) -> EventSignature:
        return EventSignature(
            concepts=frozenset(),
            words={},
            names=frozenset(names),
            numbers=frozenset(),
            lang=lang,
            url=f"https://t.me/channel/{hours}" if post else f"https://news.example/{hours}",
            published=T0 + timedelta(hours=hours),
        )

    russian = report({"a"}, "ru", 0)
    tajik_post = report({"b"}, "tg", 1, post=True)  # resembles nothing yet: an event of its own
    tajik_article = report({"a", "b"}, "tg", 2)  # joins the Russian event, folds the post's in
    unrelated = report({"z"}, "en", 3)
    events = group([russian, tajik_post, tajik_article, unrelated], model=names_only)
    assert events[0] == events[1] == events[2]
    assert events[3] != events[0]


@pytest.mark.parametrize(
    "text",
    ["12 тысяч 300 мигрантов", "12 300 мигрантов", "12,300 migrants", "более 12,3 тыс. мигрантов"],
)
def test_one_figure_written_four_ways_is_one_number(text: str) -> None:
    assert signature_of(title="", text=text).numbers == {"12300"}


def test_scaled_figures_and_decimals() -> None:
    assert signature_of(title="", text="95 тысяч рублей, 1.5 million, 10 ҳазор").numbers == {
        "95000",
        "1500000",
        "10000",
    }


@pytest.mark.parametrize(
    ("title", "repeat"),
    [
        ("Второй рейс с мигрантами вылетел из Москвы", True),
        ("Second deportation flight lands in Dushanbe", True),
        ("Третьи сутки мигранты ждут во Внуково", False),
        ("Third day at the airport for 37 migrants", False),
        ("Рӯзи сеюм муҳоҷирон дар фурудгоҳ", False),
        ("Ҳафтаи дуввуми амалиёт: 300 муҳоҷир боздошт шуданд", False),
        ("Во вторник в Москве открыли офис", False),
        ("Треть мигрантов вернулась домой", False),
    ],
)
def test_a_repeat_is_not_the_third_day_of_one_happening(title: str, repeat: bool) -> None:
    assert repeats(title) is repeat


@pytest.mark.parametrize(
    ("text", "dates"),
    [
        ("27 майи соли 2026 дар шаҳри Абӯзабӣ", {"5-27"}),
        ("Встреча прошла 12-го апреля, документ подписан 1 декабря 2025 года", {"4-12", "12-1"}),
        ("Signed on Sept. 5 in Dushanbe; talks began March 14", {"9-5", "3-14"}),
        ("On 3 May 2026, 15 тысяч мигрантов", {"5-3"}),
        # No day: a month, a year, a modal "may".
        ("В мае 2026 года мигранты may 12 times", set()),
    ],
)
def test_the_days_a_report_names(text: str, dates: set[str]) -> None:
    assert signature_of(title="", text=text).dates == dates


def test_reports_naming_other_days_conflict_and_one_silent_report_does_not() -> None:
    """A meeting on 25 May and a signing on 27 May are two happenings, however alike
    their words; a report that names no day is no evidence either way."""
    meeting = signature_of(title="", text="25 мая министр встретился с послом ОАЭ", lang="ru")
    signing = signature_of(title="", text="27 мая министр подписал меморандум с ОАЭ", lang="ru")
    signing_too = signature_of(title="", text="On May 27 the minister signed", lang="en")
    silent = signature_of(title="", text="Министр подписал меморандум с ОАЭ", lang="ru")
    assert feature(meeting, signing, "dates_conflict") == 1.0
    assert feature(signing, signing_too, "dates_conflict") == 0.0
    assert feature(silent, signing, "dates_conflict") == 0.0
    model = default_model()
    assert model.weights[FEATURES.index("dates_conflict")] <= -8.0


# Wednesday 27 May 2026, 18:20 in Dushanbe.
WEDNESDAY = datetime(2026, 5, 27, 18, 20, tzinfo=timezone(timedelta(hours=5)))


@pytest.mark.parametrize(
    ("lead", "days"),
    [
        ("Документ подписали в среду в Абу-Даби", {"5-27"}),
        ("The memorandum was signed on Wednesday", {"5-27"}),
        ("Вазир рӯзи чоршанбе бо сафир вохӯрд", {"5-27"}),
        ("Министр в понедельник встретился с послом", {"5-25"}),
        ("Last Friday the first group left", {"5-22"}),
        ("Вчера вечером рейс прибыл в Душанбе", {"5-26"}),
        # The capital is no Monday, and "today" often means nowadays.
        ("В Душанбе сегодня работают тысячи мигрантов", set()),
    ],
)
def test_days_named_from_the_publication(lead: str, days: set[str]) -> None:
    assert named_days("", lead, WEDNESDAY) == days
    assert named_days("", lead) == set()  # no publication time, nothing to count from


def test_days_named_past_the_lead_are_background() -> None:
    """ "В понедельник 240 человек улетели…" in the fourth sentence is an earlier flight,
    and "Ранее, 20 января, …" an earlier happening, whatever the date says."""
    text = "Агентство отправило группу из 185 граждан в Татарстан. " * 6
    assert named_days("", text + "В понедельник 240 человек улетели.", WEDNESDAY) == set()
    lead = "ДУШАНБЕ, 22 января. Представительство открылось в четверг. "
    later = "Ранее, 20 января, такое же представительство открылось в Москве."
    assert named_days("", lead + text + later) == {"1-22"}


def test_a_post_is_judged_by_the_reports_in_its_own_language() -> None:
    """A post that arrives after its article's translations resembles the article, not
    them: it joins on the mean over its language's members."""
    post = _member("ru", post=True)
    members = [_member("ru", post=False), _member("tg", post=False), _member("en", post=False)]

    def score(a: EventSignature, b: EventSignature) -> float:
        return 0.9 if a.lang == b.lang else 0.0

    assert mean_resemblance(post, members, score) == pytest.approx(0.9)
    article = _member("ru", post=False)
    assert mean_resemblance(article, members, score) == pytest.approx(0.3)
    english_post = _member("en", post=True)
    assert mean_resemblance(english_post, members[:2], score) == 0.0  # none in English


def test_days_are_not_counted_from_a_fetch_time() -> None:
    """A feed that gives no publication time: the fetch time stands in for the window,
    but "вчера" counted from it would be a day the report never meant."""
    text = "Вчера в Душанбе открылся офис. 12 марта подписан протокол."
    known = signature_of(title="", text=text, published=WEDNESDAY)
    fetched = signature_of(title="", text=text, published=WEDNESDAY, publication_known=False)
    assert known.dates == {"5-26", "3-12"}
    assert fetched.dates == {"3-12"} and fetched.published == WEDNESDAY


def test_the_crawl_counts_no_days_from_an_estimated_publication() -> None:
    """A feed entry without a date is given its fetch time (``published_estimated``)."""
    from crawler.items import StoryItem
    from crawler.pipelines.dedupe import DedupePipeline
    from crawler.pipelines.normalize import normalize_story

    def signed(published: datetime | None) -> EventSignature:
        item = StoryItem(
            url="https://news.example/a",
            source_id=None,
            source_name="example",
            title="Офис открыт",
            body="Вчера в Душанбе открылся офис МВД России.",
            language="ru",
            published=published,
            fetched_at=WEDNESDAY,
        )
        signature: EventSignature = (
            DedupePipeline().process_item(normalize_story(item)).event_signature
        )
        return signature

    assert signed(WEDNESDAY).dates == {"5-26"}
    assert signed(None).dates == frozenset()


def test_a_posts_cut_headline_is_no_headline() -> None:
    """The crawler heads a channel post with its first sentence; the event signature
    reads such a post as it reads one without a headline, and keeps a headline a post
    was given, or an article's."""
    text = (
        "⚡️ В Душанбе открылось представительство МВД России. Сотрудники получили "
        "дипломатический статус.\n\nПодробнее на сайте."
    )
    post = "https://t.me/asiaplus/71230"
    headless = signature_of(title="", text=text, lang="ru", url=post)
    assert signature_of(title=post_title(text), text=text, lang="ru", url=post) == headless
    given = signature_of(title="МВД России в Душанбе", text=text, lang="ru", url=post)
    assert given.title_words and not headless.title_words
    article = "https://news.example/mvd"
    assert signature_of(title=post_title(text), text=text, lang="ru", url=article).title_words
