"""Text-level dedup: normalisation, fingerprints, signatures, the copy decision, version changes.

The sample stories below are shared with the database and CLI tests.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from crawler.dedup import (
    LshParams,
    compare,
    content_fingerprint,
    is_substantive_change,
    signature_for,
    tokens,
)
from crawler.dedup.minhash import minhash, shingle_set

AGENCY_TITLE = "МВД Таджикистана откроет представительство в Москве"
AGENCY_BODY = """ДУШАНБЕ, 28 ноября. Министерство внутренних дел Таджикистана откроет своё \
представительство в Москве, сообщили в пресс-центре ведомства. Соглашение об этом подписали \
министры внутренних дел двух стран по итогам переговоров в Душанбе.

Представительство будет заниматься защитой прав трудовых мигрантов, розыском лиц, \
скрывающихся от правосудия, и обменом оперативной информацией между полицейскими службами. \
В его штат войдут четыре сотрудника таджикского министерства.

Российская сторона в ответ получит право открыть представительство МВД России в Душанбе. \
Ранее аналогичные офисы появились в Ташкенте и Бишкеке.

По данным миграционной службы, в России сейчас работают более миллиона граждан Таджикистана."""

# The same report as a second outlet runs it: new headline, dateline moved, a paragraph cut,
# a "subscribe" line added, «ёлочки» and ё changed, one typo.
REPRINT_TITLE = "Таджикская полиция получит офис в Москве"
REPRINT_BODY = """Министерство внутренних дел Таджикистана откроет свое представительство в \
Москве, сообщили в пресс-центре ведомства. Соглашение об этом подписали министры внутренних \
дел двух стран по итогам переговоров в Душанбе.

Представительство будет заниматься защитой прав трудовых мигрантов, розыском лиц, \
скрывающихся от правосудия, и обменом оперативной информацией между полицейскими слжбами. \
В его штат войдут четыре сотрудника таджикского министерства.

По данным миграционной службы, в России сейчас работают более миллиона граждан Таджикистана.

Подписывайтесь на наш канал в Telegram, чтобы первыми узнавать главные новости."""

# Same beat, same vocabulary, different event.
OTHER_TITLE = "Минтруда Таджикистана открыло центр для мигрантов в Москве"
OTHER_BODY = """Министерство труда, миграции и занятости населения Таджикистана открыло в \
Москве консультационный центр для трудовых мигрантов. Центр будет помогать гражданам \
Таджикистана с оформлением патентов и поиском работы.

По словам министра, в центре будут работать юристы и психологи, а консультации будут \
бесплатными. Центр расположен рядом с посольством Таджикистана.

Ранее министерство открыло аналогичные центры в Екатеринбурге и Новосибирске, куда \
ежегодно обращаются тысячи мигрантов из республики."""

TAJIK_TITLE = "Вазорати корҳои дохилӣ дар Маскав намояндагӣ мекушояд"
TAJIK_BODY = """Вазорати корҳои дохилии Тоҷикистон дар шаҳри Маскав намояндагии худро \
мекушояд. Созишнома дар ин бора дар натиҷаи гуфтушунидҳо дар Душанбе имзо шуд.

Намояндагӣ ба ҳимояи ҳуқуқҳои муҳоҷирони меҳнатӣ, ҷустуҷӯи шахсоне, ки аз адолати судӣ \
пинҳон мешаванд, ва мубодилаи иттилоот байни хадамоти полис машғул мешавад."""

ENGLISH_TITLE = "Tajikistan to open police liaison office in Moscow"
ENGLISH_BODY = """Tajikistan's Ministry of Internal Affairs will open a liaison office in \
Moscow, the ministry's press centre said on Friday. The agreement was signed by the interior \
ministers of the two countries after talks in Dushanbe.

The office will protect the rights of labour migrants, search for fugitives and exchange \
operational information between the police services. Four officers of the Tajik ministry \
will staff it.

Russia will in turn be allowed to open an interior ministry office in Dushanbe."""


class TestTokens:
    def test_case_yo_quotes_and_spacing_do_not_matter(self) -> None:
        assert tokens("«Ёлки» в\u00a0МОСКВЕ —  2026!") == tokens('"елки" в москве - 2026')

    def test_tajik_letters_survive(self) -> None:
        assert tokens("Вазорати корҳои дохилӣ, Ҷумҳурии Тоҷикистон") == [
            "вазорати",
            "корҳои",
            "дохилӣ",
            "ҷумҳурии",
            "тоҷикистон",
        ]

    def test_latin_lookalikes_inside_cyrillic_words_are_folded(self) -> None:
        # "Cостав" typed with a Latin C, as found in real headlines.
        assert tokens("Cостав сборной") == tokens("Состав сборной")
        assert tokens("iPhone XR") == ["iphone", "xr"]

    def test_stress_marks_are_dropped_but_numbers_kept(self) -> None:
        assert tokens("ударе\u0301ние 11 человек") == ["ударение", "11", "человек"]


class TestFingerprint:
    def test_stable_across_typography(self) -> None:
        a = content_fingerprint("МВД откроет офис", "В Москве — «новый» офис.\n\nЁлки.")
        b = content_fingerprint("  мвд ОТКРОЕТ офис ", 'В  Москве - "новый" офис. Елки')
        assert a == b
        assert len(a) == 64 and int(a, 16) >= 0

    def test_known_value_does_not_drift(self) -> None:
        # Stored fingerprints must stay comparable across releases: the format is
        # words joined by spaces, title and body separated by U+001F.
        expected = hashlib.sha256(b"a b\x1fc d").hexdigest()
        assert content_fingerprint("A, b!", " c\n\nD ") == expected

    def test_changed_word_or_figure_changes_it(self) -> None:
        base = content_fingerprint("Пожар", "погибли 11 человек")
        assert content_fingerprint("Пожар", "погибли 12 человек") != base
        assert content_fingerprint("Пожар", "пострадали 11 человек") != base

    def test_title_and_body_are_kept_apart(self) -> None:
        assert content_fingerprint("a b", "c") != content_fingerprint("a", "b c")


class TestSignature:
    def test_fingerprint_matches_content_fingerprint(self) -> None:
        sig = signature_for(AGENCY_TITLE, AGENCY_BODY)
        assert sig.fingerprint == content_fingerprint(AGENCY_TITLE, AGENCY_BODY)

    def test_is_deterministic_and_bands_fit_signed_64_bit(self) -> None:
        first = signature_for(AGENCY_TITLE, AGENCY_BODY)
        second = signature_for(AGENCY_TITLE, AGENCY_BODY)
        assert first.bands == second.bands
        assert len(first.bands) == first.params.total_bands == 40
        assert all(0 <= h < 2**63 for h in first.bands)

    def test_short_text_gets_no_bands(self) -> None:
        assert not signature_for("Срочно", "").indexable
        assert not signature_for("", "").indexable
        assert signature_for(ENGLISH_TITLE, "").indexable

    def test_minhash_estimates_jaccard(self) -> None:
        params = LshParams(bands=64, rows=4)
        a = shingle_set(AGENCY_TITLE, AGENCY_BODY, params)
        b = shingle_set(REPRINT_TITLE, REPRINT_BODY, params)
        exact = compare(a, b).jaccard
        estimate = float(np.mean(minhash(a, params) == minhash(b, params)))
        assert abs(estimate - exact) < 0.12

    def test_copy_shares_bands_and_other_story_does_not(self) -> None:
        agency = signature_for(AGENCY_TITLE, AGENCY_BODY)
        reprint = signature_for(REPRINT_TITLE, REPRINT_BODY)
        other = signature_for(OTHER_TITLE, OTHER_BODY)
        assert set(enumerate(agency.bands)) & set(enumerate(reprint.bands))
        assert not set(enumerate(agency.bands)) & set(enumerate(other.bands))


class TestCopyDecision:
    def sim(self, a: tuple[str, str], b: tuple[str, str]) -> bool:
        return compare(shingle_set(*a), shingle_set(*b)).is_copy()

    def test_reprint_is_a_copy(self) -> None:
        assert self.sim((AGENCY_TITLE, AGENCY_BODY), (REPRINT_TITLE, REPRINT_BODY))

    def test_same_topic_different_event_is_not(self) -> None:
        assert not self.sim((AGENCY_TITLE, AGENCY_BODY), (OTHER_TITLE, OTHER_BODY))

    def test_other_languages_of_the_same_story_are_not_copies(self) -> None:
        assert not self.sim((AGENCY_TITLE, AGENCY_BODY), (TAJIK_TITLE, TAJIK_BODY))
        assert not self.sim((AGENCY_TITLE, AGENCY_BODY), (ENGLISH_TITLE, ENGLISH_BODY))

    def test_headlines_differing_in_one_name_are_not_copies(self) -> None:
        assert not self.sim(
            ("ЦСКА вышел в финал Кубка России", ""), ("«Анжи» вышел в финал Кубка России", "")
        )

    def test_identical_headlines_are_copies(self) -> None:
        assert self.sim(
            ("ЦСКА вышел в финал Кубка России", ""), ("ЦСКА вышел в финал Кубка России!", "")
        )

    def test_lead_reprint_is_a_copy_through_containment(self) -> None:
        lead = AGENCY_BODY.split("\n\n")
        shorter = "\n\n".join(lead[:3])
        result = compare(shingle_set(AGENCY_TITLE, AGENCY_BODY), shingle_set(AGENCY_TITLE, shorter))
        assert result.containment == 1.0
        assert result.is_copy()

    def test_empty_text_is_never_a_copy(self) -> None:
        assert not compare(shingle_set("", ""), shingle_set("", "")).is_copy()


# A long report and what feeds and other outlets make of it.
LONG_BODY = "\n\n".join([AGENCY_BODY, OTHER_BODY.replace("Минтруда", "Ведомство"), ENGLISH_BODY])


def _copy(a: tuple[str, str], b: tuple[str, str]) -> bool:
    first, second = signature_for(*a), signature_for(*b)
    return compare(first.shingles, second.shingles, first.lead, second.lead).is_copy()


class TestContainedCopies:
    def test_feed_teaser_of_a_long_report_is_a_copy(self) -> None:
        teaser = " ".join(AGENCY_BODY.split()[:25]) + "… Подробнее"
        first, second = signature_for(AGENCY_TITLE, LONG_BODY), signature_for(AGENCY_TITLE, teaser)
        result = compare(first.shingles, second.shingles, first.lead, second.lead)
        assert result.jaccard < 0.2 and result.start == 1.0
        assert result.is_copy()
        # The lead bands find it although the full-text bands need a higher Jaccard.
        lead = slice(first.params.bands, None)
        assert set(enumerate(first.bands[lead])) & set(enumerate(second.bands[lead]))

    def test_text_quoted_inside_another_report_is_not_a_copy(self) -> None:
        # A "background" paragraph quoting another story's lead: contained, but elsewhere.
        quoted = " ".join(OTHER_BODY.split()[:25])
        host = "\n\n".join([AGENCY_BODY, "Ранее сообщалось, что " + quoted, ENGLISH_BODY])
        assert not _copy((OTHER_TITLE, quoted), (AGENCY_TITLE, host))

    def test_boilerplate_only_text_is_not_a_copy_of_a_page_of_its_site(self) -> None:
        # A failed extraction: only the site's footer, which every page of the site contains.
        footer = (
            "Подписывайтесь на наш канал в Telegram, чтобы первыми узнавать главные новости. "
            "Все права защищены. Любое использование материалов допускается только при "
            "наличии гиперссылки на сайт редакции. Сообщить новость можно через форму "
            "обратной связи, мы отвечаем в течение суток."
        )
        result = compare(shingle_set("", footer), shingle_set(AGENCY_TITLE, LONG_BODY + footer))
        assert result.containment == 1.0 and result.smaller >= 30
        assert not _copy(("", footer), (AGENCY_TITLE, f"{LONG_BODY}\n\n{footer}"))

    def test_report_inside_a_long_page_is_a_copy(self) -> None:
        menu = "Главная Новости Политика Экономика Общество Происшествия Регионы Спорт Культура"
        page = f"{menu}\n\n{AGENCY_TITLE}\n\n{AGENCY_BODY}\n\nЧитайте также:\n\n{OTHER_TITLE}"
        assert _copy((AGENCY_TITLE, AGENCY_BODY), (AGENCY_TITLE, page))


class TestSubstantiveChange:
    def test_whitespace_and_typography_are_not(self) -> None:
        assert not is_substantive_change(
            AGENCY_TITLE, AGENCY_BODY, AGENCY_TITLE + " ", AGENCY_BODY.replace("ё", "е") + "\n"
        )

    def test_typo_fix_is_not(self) -> None:
        assert not is_substantive_change(
            AGENCY_TITLE, AGENCY_BODY.replace("служб", "слжб"), AGENCY_TITLE, AGENCY_BODY
        )

    def test_changed_figure_is(self) -> None:
        assert is_substantive_change(
            "Пожар", "При пожаре погибли 11 человек.", "Пожар", "При пожаре погибли 12 человек."
        )

    def test_added_sentence_is(self) -> None:
        assert is_substantive_change(
            AGENCY_TITLE, AGENCY_BODY, AGENCY_TITLE, AGENCY_BODY + "\n\nОфис откроется в январе."
        )

    def test_new_headline_is(self) -> None:
        assert is_substantive_change(AGENCY_TITLE, AGENCY_BODY, REPRINT_TITLE, AGENCY_BODY)

    def test_removed_paragraph_is(self) -> None:
        shorter = "\n\n".join(AGENCY_BODY.split("\n\n")[:-1])
        assert is_substantive_change(AGENCY_TITLE, AGENCY_BODY, AGENCY_TITLE, shorter)


@pytest.mark.parametrize("params", [LshParams(), LshParams(shingle_size=2, bands=16, rows=4)])
def test_signature_respects_its_parameters(params: LshParams) -> None:
    sig = signature_for(AGENCY_TITLE, AGENCY_BODY, params)
    assert sig.params == params and len(sig.bands) == params.total_bands
