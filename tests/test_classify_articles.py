"""Reading items as articles: the lead, the time of each clause, several events in one lead,
the known error classes, and evidence quoted as the source wrote it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path

import pytest

from monitor.classify import Classifier, load_watchlists
from monitor.classify.document import BODY, LEAD, TITLE, build_document
from monitor.classify.language import language
from monitor.classify.temporal import CURRENT, PAST, UNKNOWN, Reader
from monitor.milestones import Candidate, decide
from monitor.model import Classification, ItemText

WATCHLIST = Path(__file__).resolve().parents[1] / "config" / "watchlists" / "belarus-us.yaml"
PUBLISHED = datetime(2026, 6, 17, 12, 0, tzinfo=UTC)        # a Wednesday


@lru_cache(maxsize=1)
def classifier() -> Classifier:
    return Classifier(load_watchlists([WATCHLIST]))


def classify(title: str, summary: str = "", content: str = "", language: str | None = None,
             published: datetime = PUBLISHED) -> Classification:
    return classifier().classify(ItemText("t", title, summary, content, published, language),
                                 explain=True)


def types(*args: str, **kw: str) -> set[str]:
    return {m.type for m in classify(*args, **kw).milestones}


# -- an article: the lead reports, the body recalls --------------------------------------

WIRE = """\
WASHINGTON — The United States lifted sanctions on the Belarusian state airline Belavia on \
Tuesday after Minsk freed 31 prisoners, the Treasury Department said.

The decision allows Belavia to buy spare parts for its Boeing fleet.

Relations have been strained for two decades. In 2008, Minsk expelled the U.S. ambassador, \
Karen Stewart, and forced the embassy to cut its staff to a handful of diplomats. Washington \
withdrew its ambassador in 1998 as well, after the Drozdy dispute.

After years of frozen ties, the two governments froze their dialogue again in 2021, when \
Minsk withdrew its consent for Ambassador Julie Fisher. The U.S. embassy in Minsk suspended \
operations in February 2022."""


def test_background_paragraphs_do_not_fire() -> None:
    got = types("U.S. lifts sanctions on Belavia as Belarus frees prisoners", "", WIRE)
    assert got == {"sanctions_lifted", "prisoners_released"}


def test_summary_that_is_the_lead_is_read_once_and_zones_are_set() -> None:
    lead = WIRE.split("\n\n")[0]
    item = ItemText("t", "Title", lead, WIRE, PUBLISHED, "en")
    doc = build_document(item)
    assert list(doc.fields) == ["title", "content"]
    assert doc.sent_zone[0] == TITLE and doc.sent_zone[1] == LEAD
    assert doc.sent_zone[-1] == BODY
    # a teaser in other words is read too, as lead
    doc = build_document(ItemText("t", "Title", "Belavia may buy parts again.", WIRE, PUBLISHED))
    assert list(doc.fields) == ["title", "summary", "content"]


def test_html_content_is_read_as_paragraphs() -> None:
    html = "".join(f"<p>{p}</p>" for p in WIRE.split("\n\n"))
    from monitor.parse.text import html_to_text

    got = types("U.S. lifts sanctions on Belavia as Belarus frees prisoners", "",
                html_to_text(html))
    assert got == {"sanctions_lifted", "prisoners_released"}


def test_a_body_sentence_tied_to_the_item_time_adds_a_milestone() -> None:
    content = ("Belarus freed 14 prisoners on Tuesday, officials said.\n\n"
               "Analysts said the move was overdue.\n\n"
               "On Monday, Secretary of State Marco Rubio spoke by telephone with Belarusian "
               "Foreign Minister Maxim Ryzhenkov, the State Department said.")
    assert types("Belarus frees 14 prisoners", "", content) == {
        "prisoners_released", "high_level_contact"}


def test_a_body_sentence_gives_the_details_of_the_lead_event() -> None:
    """The lead says a U.S. delegation held talks; the body names the senior official."""
    content = ("Belarus released an American citizen after a U.S. delegation held talks with "
               "Alexander Lukashenko in Minsk.\n\n"
               "The freed man crossed into Lithuania.\n\n"
               "State media said Lukashenko met the delegation, led by Christopher Smith, a "
               "deputy assistant secretary of state.")
    assert "high_level_contact" in types("Belarus frees American", "", content)


def test_commentary_has_no_lead_event() -> None:
    content = ("In September, Washington lifted sanctions on Belavia in exchange for the "
               "release of 52 prisoners. Reopening the embassy now would be a mistake.\n\n"
               "Start with history. In 2008 Lukashenko expelled the U.S. ambassador.")
    assert types("Opinion: Washington should not reopen its embassy in Minsk", "",
                 content, published=datetime(2025, 11, 3, tzinfo=UTC)) == set()
    assert types("Analysis: what Minsk wants from Washington",
                 "More than 60 people freed in three batches, relief for Belavia.") == set()


def test_a_retrospective_word_in_the_title_does_not_silence_the_news() -> None:
    assert "prisoners_released" in types(
        "Belarus frees US citizen after years without contact with Washington",
        "Belarus released a detained U.S. citizen on Tuesday.")


# -- the time of each clause ------------------------------------------------------------

@pytest.mark.parametrize("lang,text,relation", [
    ("en", "Belarus expelled the U.S. ambassador in 2008", PAST),
    ("en", "Belarus expelled the U.S. ambassador last week", CURRENT),
    ("en", "Belarus expelled the U.S. ambassador on Monday", CURRENT),
    ("en", "Belarus expelled the U.S. ambassador yesterday", CURRENT),
    ("en", "Belarus expelled the U.S. ambassador three years ago", PAST),
    ("en", "Belarus expelled the U.S. ambassador earlier this week", CURRENT),
    ("en", "Belarus expelled the U.S. ambassador earlier this month", UNKNOWN),
    ("en", "Belarus expelled the U.S. ambassador in March", PAST),
    ("en", "Belarus expelled the U.S. ambassador on June 15", CURRENT),
    ("en", "Belarus expelled the U.S. ambassador last year", PAST),
    ("en", "Belarus had expelled the U.S. ambassador", PAST),
    ("en", "Belarus expelled the U.S. ambassador", UNKNOWN),
    ("ru", "Беларусь выслала посла США в понедельник", CURRENT),
    ("ru", "Беларусь выслала посла США на прошлой неделе", CURRENT),
    ("ru", "Беларусь выслала посла США в прошлом году", PAST),
    ("ru", "Беларусь выслала посла США в 2008 году", PAST),
    ("ru", "Беларусь выслала посла США пять лет назад", PAST),
    ("ru", "Тогда Беларусь выслала посла США", PAST),
    ("be", "Беларусь выслала пасла ЗША ў панядзелак", CURRENT),
    ("be", "Беларусь выслала пасла ЗША летась", PAST),
    ("be", "Беларусь выслала пасла ЗША на мінулым тыдні", CURRENT),
    ("be", "Раней Беларусь выслала пасла ЗША", PAST),
])
def test_time_of_a_clause(lang: str, text: str, relation: str) -> None:
    from monitor.classify.reading import Reading

    doc = build_document(ItemText("t", text, "", "", PUBLISHED, lang))
    reading = Reading(doc)
    trigger = next(i for i, t in enumerate(doc.tokens)
                   if t.startswith(("expel", "высла", "had")) or t == "expelled")
    if doc.tokens[trigger] == "had":
        trigger += 1
    assert reading.when("ambassador_expelled", trigger, trigger, False).relation == relation


def test_dates_resolve_against_the_item_date() -> None:
    reader = Reader(language("en"))
    toks = ["on", "monday", "the", "2020", "election", "in", "may", "2008", "last", "week"]
    found = {toks[a.start]: a for a in reader.anchors(toks, 0, len(toks), date(2026, 6, 17))}
    assert found["monday"].first == date(2026, 6, 15)
    assert found["2020"].dates_other == "noun"            # "the 2020 election"
    assert found["may"].first == date(2008, 5, 1)
    assert found["last"].first == date(2026, 6, 8) and found["last"].last == date(2026, 6, 14)


def test_a_month_of_a_year_named_before_and_units_without_a_number() -> None:
    reader = Reader(language("en"))
    toks = ["in", "march", "of", "that", "year", "and", "weeks", "earlier"]
    found = {toks[a.start]: a for a in reader.anchors(toks, 0, len(toks), date(2026, 6, 17))}
    assert found["march"].kind == "same" and found["march"].end == 4
    assert found["weeks"].first == date(2026, 5, 6) and found["weeks"].last == date(2026, 6, 3)


def test_a_month_of_that_year_is_not_this_years() -> None:
    content = ("Belarus raised the cap on U.S. diplomats to 40 on Tuesday, the ministry said.\n\n"
               "Relations thawed in 2025. In June of that year Belarus and the United States "
               "agreed to restore relations at ambassador level.")
    assert types("Belarus lets more U.S. diplomats in", "", content) == {"diplomat_cap_changed"}


def test_each_sentence_of_a_title_stands_alone() -> None:
    assert types("Lukashenko proposes a grand deal to Washington on prisoners. "
                 "Fifty-two people freed") == {"prisoners_released"}
    assert "diplomat_cap_changed" not in types(
        "U.S. sanctions Belarusian judges and KGB officers. Minsk recalls its ambassador")


@pytest.mark.parametrize("title,summary,lang", [
    ("U.S. envoy meets the Belarusian leader",
     "The U.S. special envoy met the Belarusian leader in Minsk on Tuesday.", "en"),
    ("Посланник США встретился с белорусским руководителем",
     ("Специальный посланник США во вторник провел переговоры с главой белорусского "
     "государства."), "ru"),
])
def test_a_leader_named_by_title(title: str, summary: str, lang: str) -> None:
    assert "high_level_contact" in types(title, summary, language=lang)


def test_an_opposition_leader_is_no_official() -> None:
    assert "high_level_contact" not in types(
        "Rubio meets Belarusian opposition leader",
        "Secretary of State Marco Rubio met Belarusian opposition leader Sviatlana "
        "Tsikhanouskaya in Vilnius on Monday.")


def test_a_window_longer_than_the_default_reads_older_clauses_as_news() -> None:
    text = "Belarus expelled the U.S. ambassador on June 1"
    assert types(text) == set()                                     # 16 days: background
    wide = Classifier(load_watchlists([WATCHLIST]),
                      windows={"ambassador_expelled": 30 * 86400.0})
    c = wide.classify(ItemText("t", text, published=PUBLISHED))
    assert {m.type for m in c.milestones} == {"ambassador_expelled"}


# -- several events in one lead; causes and reactions -------------------------------------

def test_three_events_in_one_lead() -> None:
    assert types("Belarus pardons 52 prisoners, U.S. lifts Belavia sanctions after envoy "
                 "Coale meets Lukashenko") == {
        "prisoners_released", "sanctions_lifted", "high_level_contact"}


def test_a_cause_is_not_a_new_event() -> None:
    got = types("Minsk expels U.S. diplomats",
                "Belarus ordered ten U.S. diplomats to leave in response to the sanctions "
                "imposed in August.")
    assert "sanctions_imposed" not in got and "diplomat_cap_changed" in got


def test_a_reaction_reports_the_decision_it_reacts_to() -> None:
    assert types("Minsk welcomes U.S. decision to lift sanctions on Belavia",
                 "Belarus's foreign ministry welcomed Washington's decision on Tuesday to "
                 "lift sanctions on Belavia.") == {"sanctions_lifted"}


# -- the known error classes --------------------------------------------------------------

@pytest.mark.parametrize("title,lang", [
    ("OFAC removes Belarusbank and two subsidiaries from the sanctions list", "en"),
    ("U.S. drops sanctions on Belarusian potash producer Belaruskali", "en"),
    ("Treasury delists Belavia, lifting sanctions imposed in 2023", "en"),
    ("OFAC исключил «Гродно Азот» и «Нафтан» из санкционного списка", "ru"),
    ("ЗША выключылі «Белавію» з санкцыйнага спісу", "be"),
])
def test_a_removal_from_sanctions_is_no_imposition(title: str, lang: str) -> None:
    got = types(title, language=lang)
    assert "sanctions_lifted" in got and "sanctions_imposed" not in got


@pytest.mark.parametrize("title,summary", [
    ("U.S. releases report on political prisoners in Belarus",
     "The State Department released its annual report, which says 1,150 people are held."),
    ("Belarus releases list of Americans barred from entry",
     "Minsk released the names of 25 U.S. officials banned from entering the country."),
    ("Embassy releases statement on detained citizen",
     "The U.S. embassy released a statement about a citizen detained in Minsk."),
])
def test_released_in_other_senses_is_no_release(title: str, summary: str) -> None:
    assert "prisoners_released" not in types(title, summary)


@pytest.mark.parametrize("title,summary,lang", [
    ("Minsk gives U.S. diplomats until Friday to leave",
     "Belarus told Washington on Monday that ten American diplomats must leave by Friday.",
     "en"),
    ("Only five U.S. diplomats allowed to remain in Minsk",
     "Belarus said on Tuesday that only five American diplomats would be allowed to remain.",
     "en"),
    ("В посольстве США в Минске останутся пять дипломатов",
     "МИД Беларуси в среду сообщил, что в посольстве США останутся пять дипломатов.", "ru"),
])
def test_staffing_changes_without_cap_words(title: str, summary: str, lang: str) -> None:
    assert "diplomat_cap_changed" in types(title, summary, language=lang)


@pytest.mark.parametrize("title,summary", [
    ("U.S. embassy in Minsk resumes visa services",
     ("The U.S. embassy in Minsk resumed consular services on Monday for the first time "
      "since 2022.")),
    ("Консульский отдел посольства США в Минске возобновил работу",
     "Посольство США в Минске в понедельник возобновило выдачу виз."),
])
def test_a_partial_reopening_counts(title: str, summary: str) -> None:
    assert "embassy_reopened" in types(title, summary)


@pytest.mark.parametrize("title,summary", [
    ("U.S. ambassador forced to leave Belarus",
     ("The U.S. ambassador left Minsk on Tuesday under pressure from the Belarusian "
      "government.")),
    ("Посол США вынужден покинуть Беларусь",
     "Посол США во вторник покинул Минск под давлением белорусских властей."),
])
def test_a_forced_departure_is_an_expulsion(title: str, summary: str) -> None:
    assert "ambassador_expelled" in types(title, summary)


@pytest.mark.parametrize("title,summary,lang", [
    ("Envoy Coale discussed prisoners with Lukashenko",
     ("U.S. envoy John Coale discussed with Alexander Lukashenko the release of prisoners "
      "on Thursday."), "en"),
    ("Trump and Lukashenko spoke by telephone",
     "President Donald Trump spoke by telephone with Alexander Lukashenko on Friday.", "en"),
    ("Trump phoned Lukashenko", "Donald Trump telephoned Alexander Lukashenko on Friday.", "en"),
    ("Rubio holds phone call with Belarusian foreign minister",
     ("Secretary of State Marco Rubio held a telephone conversation with Foreign Minister "
      "Maxim Ryzhenkov."), "en"),
    ("Лукашенко и Трамп провели телефонный разговор",
     "Александр Лукашенко и Дональд Трамп в пятницу провели телефонный разговор.", "ru"),
    ("Лукашэнка і Трамп пагаварылі па тэлефоне",
     "Аляксандр Лукашэнка і Дональд Трамп у пятніцу пагаварылі па тэлефоне.", "be"),
])
def test_talks_and_calls_in_many_phrasings(title: str, summary: str, lang: str) -> None:
    assert "high_level_contact" in types(title, summary, language=lang)


# -- appeals, requests met, causes, states -----------------------------------------------

@pytest.mark.parametrize("title,summary", [
    ("Washington demands Minsk free all political prisoners",
     "The State Department on Monday demanded the immediate release of Belarusian detainees."),
    ("США требуют освободить политзаключенных в Беларуси",
     "Госдеп США в понедельник потребовал освободить всех политзаключенных в Беларуси."),
    ("U.S. asks Belarus to let jailed journalists go",
     "The U.S. embassy asked the authorities in Minsk to free two jailed journalists."),
])
def test_an_appeal_to_release_is_no_release(title: str, summary: str) -> None:
    assert "prisoners_released" not in types(title, summary)


@pytest.mark.parametrize("title,summary", [
    ("Belarus demands U.S. cut embassy staff to ten",
     "Belarus on Monday demanded that the United States cut its embassy staff to ten."),
    ("Мінск патрабуе скараціць амбасаду ЗША",
     ("МЗС Беларусі ў панядзелак запатрабавала, каб ЗША скарацілі колькасць дыпламатаў у "
     "амбасадзе да дзесяці.")),
])
def test_a_demand_to_cut_staff_is_the_event(title: str, summary: str) -> None:
    assert "diplomat_cap_changed" in types(title, summary)


@pytest.mark.parametrize("title,summary", [
    ("Lukashenko frees five inmates at Washington's request",
     ("Alexander Lukashenko pardoned five prisoners on Sunday at the request of U.S. envoy "
     "John Coale.")),
    ("Лукашенко помиловал пятерых по просьбе США",
     "Александр Лукашенко в воскресенье помиловал пятерых заключенных по просьбе США."),
])
def test_a_request_that_was_met_is_no_hedge(title: str, summary: str) -> None:
    assert "prisoners_released" in types(title, summary)


def test_a_word_inside_a_cause_phrase_pairs_with_nothing() -> None:
    got = types("Belarus shrinks the U.S. embassy",
                ("Belarus said on Tuesday it is cutting the number of diplomats at the U.S. "
                 "embassy and tightening visa rules for Americans, in response to U.S. "
                 "sanctions against Belarusian firms."))
    assert "diplomat_cap_changed" in got and "sanctions_imposed" not in got


def test_an_adjective_of_state_is_no_event() -> None:
    got = types("Lukashenko frees a U.S. citizen",
                ("Belarus freed an American prisoner on Monday as Alexander Lukashenko seeks "
                 "to mend frozen relations with the United States."))
    assert got == {"prisoners_released"}


def test_a_name_holding_a_release_word_is_no_release() -> None:
    got = types("U.S. picks ambassador to Belarus",
                ("Washington named a new ambassador to Belarus on Monday, Radio Free Europe "
                 "reported, citing political prisoners' relatives."))
    assert "prisoners_released" not in got


def test_an_added_statement_takes_the_time_of_the_lead() -> None:
    content = (
        "Belarus on Monday ordered the U.S. embassy to cut its staff to five.\n\n"
        "\"The American side was asked to reduce its personnel,\" the ministry said.\n\n"
        "\"We see no reason for such a large mission,\" the spokesman added.\n\n"
        "He also said Belarus has withdrawn its consent for the appointment of the new U.S. "
        "ambassador.")
    got = types("Belarus tells U.S. to cut embassy staff", "", content)
    assert got == {"diplomat_cap_changed", "ambassador_expelled"}


def test_exclude_us_based_matches() -> None:
    c = classify("US-based charity helps Belarusian families")
    assert not c.relevant


def test_a_nomination_by_the_president_is_relevant() -> None:
    c = classify("The President nominated Jane Doe to be ambassador to Belarus")
    assert c.relevant and {m.type for m in c.milestones} == {"ambassador_named"}


def test_sanctions_on_different_targets_are_different_events() -> None:
    belavia = classify("U.S. eases sanctions on Belavia").milestones[0]
    potash = classify("U.S. eases sanctions on Belaruskali").milestones[0]
    assert belavia.principals == ("belavia",) and potash.principals == ("belaruskali",)
    first = decide(belavia, event_at=PUBLISHED, window=PUBLISHED - PUBLISHED.replace(day=3),
                   candidates=[], item_ident="a")
    second = decide(potash, event_at=PUBLISHED, window=PUBLISHED - PUBLISHED.replace(day=3),
                    candidates=[Candidate(first.new_id or "", first.key, "completed",
                                          PUBLISHED)], item_ident="b")
    assert second.new_id is not None          # not merged into the Belavia milestone


# -- evidence as the source wrote it -----------------------------------------------------

def test_evidence_is_verbatim_with_trigger_offsets() -> None:
    title = "Lukashenko met the U.S. special envoy in Minsk on Tuesday"
    (hit,) = classify(title).milestones
    assert hit.evidence == title
    at = hit.evidence_at
    assert at is not None and at.field == "title" and (at.start, at.end) == (0, len(title))
    (a, b), = at.triggers
    assert title[a:b] == "met"
    assert hit.reason is not None and hit.reason.zone == TITLE


def test_evidence_offsets_point_into_the_content() -> None:
    c = classify("News", "", "Intro.\n\nThe U.S. Treasury lifted sanctions on Belavia on Tuesday.")
    (hit,) = c.milestones
    at = hit.evidence_at
    assert at is not None and at.field == "content"
    content = "Intro.\n\nThe U.S. Treasury lifted sanctions on Belavia on Tuesday."
    assert content[at.start:at.end] == hit.evidence
    assert [content[a:b] for a, b in at.triggers] == ["lifted"]


def test_explain_lists_the_guard_and_its_words() -> None:
    c = classify("Belarus could expel the U.S. ambassador, an aide said")
    assert not c.milestones
    why = {(r.type, r.reason.basis, r.reason.cue) for r in c.rejected}
    assert ("ambassador_expelled", "hedge", "could") in why
