"""Aliases in every script and inflection, wrong relations, and the dev-set traps."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import pytest

from monitor.classify import Classifier, load_watchlists
from monitor.classify.normalise import clean, detect_language, split_sentences, stem, tokenise
from monitor.model import ItemText

WATCHLIST = Path(__file__).resolve().parents[1] / "config" / "watchlists" / "belarus-us.yaml"
PUBLISHED = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


@lru_cache(maxsize=1)
def classifier() -> Classifier:
    return Classifier(load_watchlists([WATCHLIST]))


def classify(title: str, summary: str = "", published: datetime | None = PUBLISHED):
    return classifier().classify(ItemText("t", title, summary, published=published))


def types_of(title: str, summary: str = "") -> set[str]:
    return {m.type for m in classify(title, summary).milestones}


@pytest.mark.parametrize("text", [
    "Lukashenko met Trump", "Lukashenka met Trump", "Aliaksandr Lukashenka met Trump",
    "Лукашенко встретился с Трампом", "Трамп встретился с Лукашенко",
    "Трамп сустрэўся з Лукашэнкам", "Лукашэнка сустрэўся з Трампам",
    "Трамп поговорил по телефону с Лукашенко",
])
def test_lukashenko_aliases(text: str) -> None:
    c = classify(text)
    assert "lukashenko" in c.actors and "trump" in c.actors
    assert "high_level_contact" in {m.type for m in c.milestones}


@pytest.mark.parametrize(("text", "actor"), [
    ("Belarus", "belarus"), ("Byelorussia", "belarus"), ("Belarusian officials", "belarusian"),
    ("Беларусь", "belarus"), ("Белоруссия", "belarus"), ("белорусский МИД", "belarusian"),
    ("Рэспубліка Беларусь", "belarus"), ("Беларусі", "belarus"), ("Белоруссии", "belarus"),
    ("Беларуси", "belarus"),
])
def test_belarus_aliases(text: str, actor: str) -> None:
    """Each spelling is read as the actor it names (the country, or the adjective)."""
    c = classify(f"{text} and the State Department")
    assert actor in c.actors


@pytest.mark.parametrize("text", ["the US", "the U.S.", "the United States", "Washington",
                                  "the State Department", "Госдеп", "США", "ЗША",
                                  "Вашингтон", "Вашынгтон"])
def test_us_aliases(text: str) -> None:
    c = classify(f"Belarus government and {text} held consultations")
    assert c.relevant, text


def test_pronoun_us_is_not_the_country() -> None:
    assert not classify("Lukashenko told us about Belarus").relevant


@pytest.mark.parametrize(("text", "mtype"), [
    ("Belarus expelled two US ambassadors", "ambassador_expelled"),
    ("Минск отозвал своего посла из Вашингтона", "ambassador_expelled"),
    ("Лукашенко назначил послом в США Олега Петрова", "ambassador_named"),
    ("Посла США попросили покинуть Беларусь", "ambassador_expelled"),
    ("Мінск папрасіў пасла ЗША пакінуць Беларусь", "ambassador_expelled"),
    ("Лукашэнка прызначыў амбасадарку ЗША ў Беларусі", "ambassador_named"),
    ("Сенат США утвердил нового посла в Белоруссии", "ambassador_confirmed"),
    ("US ambassadors to Belarus: Senate confirms Jane Doe", "ambassador_confirmed"),
])
def test_inflections(text: str, mtype: str) -> None:
    assert mtype in types_of(text)


@pytest.mark.parametrize("text", [
    "US ambassador to Poland named; Lukashenko critic picked by Trump",
    "Belarus names ambassador to China",
    "Lukashenko appoints new ambassador to Turkey",
    "Lithuania's new ambassador to the United States warns of Belarus threat",
    "China's ambassador presents credentials to Lukashenka",
    "Belarusian-born NHL star named UNICEF goodwill ambassador in the United States",
])
def test_wrong_relation(text: str) -> None:
    assert not types_of(text) & {"ambassador_named", "ambassador_arrived"}


@pytest.mark.parametrize(("title", "summary", "absent"), [
    ("Committee advances Belarus nominee",
     ("The Senate Foreign Relations Committee voted to advance the nomination of Jane Doe as "
     "US ambassador to Belarus. The full Senate must still confirm her."),
     "ambassador_confirmed"),
    ("Belarusian consulate in Washington shuts",
     "The consular section of the Belarusian embassy in Washington will be closed for works.",
     "embassy_closed"),
    ("EU extends Belarus sanctions",
     ("European Union governments extended restrictive measures against Belarus. "
     "Diplomats noted Washington's easing."), "sanctions_imposed"),
    ("US sanctions Russian banks",
     "The US Treasury imposed sanctions on Sberbank. Belarus was not mentioned.",
     "sanctions_imposed"),
    ("US urges Minsk to free prisoners",
     "The State Department called for the release of all political prisoners in Belarus.",
     "prisoners_released"),
    ("State Department denies plan to lift Belarus sanctions",
     "Washington is not preparing to lift sanctions on Belarus, a spokesperson said.",
     "sanctions_lifted"),
])
def test_traps(title: str, summary: str, absent: str) -> None:
    assert absent not in types_of(title, summary)


def test_background_relative_to_published_date() -> None:
    title = "Belarus expelled the US ambassador in March 2008"
    old = classifier().classify(ItemText("a", title, published=datetime(2008, 3, 8, tzinfo=UTC)))
    new = classifier().classify(ItemText("b", title, published=PUBLISHED))
    assert "ambassador_expelled" in {m.type for m in old.milestones}
    assert "ambassador_expelled" not in {m.type for m in new.milestones}


def test_no_published_date_uses_now() -> None:
    title = "Belarus expelled the US ambassador in 2008"
    c = classifier().classify(ItemText("a", title), now=datetime(2026, 1, 1, tzinfo=UTC))
    assert not c.milestones
    c = classifier().classify(ItemText("a", title))      # no date at all: wording only
    assert {m.type for m in c.milestones} == {"ambassador_expelled"}


def test_hit_fields_and_principals() -> None:
    c = classify("White House picks Julie Fisher as US ambassador to Belarus")
    (hit,) = [m for m in c.milestones if m.type == "ambassador_named"]
    assert hit.principals == ("fisher",)
    assert hit.severity == "high" and hit.title == "Ambassador named"
    assert hit.status == "announced" and 0 < hit.confidence <= 1
    assert hit.rule.startswith("ambassador_named.") and hit.triggers
    out = c.to_json()
    assert out["relevant"] is True and out["watchlists"] == ["belarus-us"]
    c = classify("Trump nominates Catherine Voss as US ambassador to Belarus")
    assert [m.principals for m in c.milestones] == [("name:Catherine Voss",)]


def test_watchlist_filter() -> None:
    c = classifier().classify(ItemText("a", "Trump met Lukashenko"), watchlist="nope")
    assert not c.relevant and not c.milestones
    assert classifier().watchlist_names == ("belarus-us",)
    assert classifier().watchlists[0].milestone_types["embassy_closed"][1] == "critical"


def test_normalise_helpers() -> None:
    assert clean("Chargé&nbsp;d’Affaires <b>U.S.</b> — «ёлка»") .split() == [
        "Charge", "d'Affaires", "USA", "-", '"елка"']
    assert tokenise("Belarus-US ties, з'ехаць") == ["belarus", "us", "ties", "з'ехаць"]
    assert split_sentences("Mr. Smith came. He left! Then U. N. went") == [
        "Mr. Smith came.", "He left!", "Then U. N. went"]
    assert detect_language("Амбасада ЗША ў Мінску") == "be"
    assert detect_language("Посольство США в Минске") == "ru"
    assert stem("пасламі", "be") == stem("паслом", "be") == "пасл"
    assert stem("пасля", "be") == "пасля" and stem("после", "ru") == "после"
