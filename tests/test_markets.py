"""Every English-speaking market hears its own limit and its own words (facts U1-U5), from one process.

U: (in the UK) how much magnesium should I take?   A: First, a quick check...   U: no.
A: ... The NHS says 400 milligrams a day or less from supplements is unlikely to cause harm.
"""
from __future__ import annotations

import re

import pytest

from skill.content import CONTENT_DIR, ContentError, load_catalog, parse_catalog, source_files
from skill.knowledge.markets import MARKETS
from skill.runtime import SkillRunner
from tests.conversation import Conversation

# Whose figure each market's answers name, and the words its people hear.
LIMIT = {"en-US": "US health authorities", "en-GB": "the NHS says", "en-AU": "Australia's NHMRC", "en-CA": "Health Canada",
         "en-IN": "I don't hold an Indian figure"}
FIGURE = {"en-GB": "400"}  # the rest name 350 mg (U2-U5)
KIDNEY_WORD = {"en-US": "ask your doctor", "en-GB": "ask your GP", "en-AU": "ask your GP", "en-CA": "ask your doctor",
               "en-IN": "ask your doctor"}


@pytest.fixture
def market(talk: Conversation, request: pytest.FixtureRequest) -> Conversation:
    talk.locale = request.param
    return talk


@pytest.mark.parametrize("market", sorted(MARKETS), indirect=True)
def test_a_plain_dose_question_names_the_markets_own_figure(market: Conversation) -> None:
    a = market.ask_screened("DoseIntent")
    assert a.said("dose.general", "disclaimer")
    assert LIMIT[market.locale].lower() in a.speech.lower() and FIGURE.get(market.locale, "350") in a.speech.split("article")[-1]
    others = [sentence for locale, sentence in LIMIT.items() if locale != market.locale and locale != "en-US"]
    assert not any(sentence.lower() in a.speech.lower() for sentence in others)


@pytest.mark.parametrize("market", sorted(MARKETS), indirect=True)
def test_kidneys_send_each_market_to_the_person_its_people_see(market: Conversation) -> None:
    a = market.ask("DoseIntent", condition="kidney:kidney disease")
    assert a.said("gate.kidney") and KIDNEY_WORD[market.locale] in a.speech.lower().replace("gp", "GP")


def test_the_limit_sentence_follows_the_markets_figure(talk: Conversation) -> None:
    talk.locale = "en-US"
    assert talk.ask_screened("DoseIntent", amount="380", unit="mg:milligrams").said("dose.upper_limit")
    uk = Conversation(talk.runner, talk.said, locale="en-GB")
    # 380 mg is within the NHS's 400, so no limit sentence in the UK; 450 passes it.
    assert not uk.ask_screened("DoseIntent", amount="380", unit="mg:milligrams").said("dose.upper_limit")
    over = Conversation(talk.runner, talk.said, locale="en-GB").ask_screened("DoseIntent", amount="450", unit="mg:milligrams")
    assert over.said("dose.upper_limit") and "NHS" in over.speech


def test_a_locale_with_no_content_answers_in_en_us_and_says_so(talk: Conversation, caplog: pytest.LogCaptureFixture) -> None:
    talk.locale = "en-ZA"
    with caplog.at_level("INFO", logger="skill.speech"):
        a = talk.ask_screened("DoseIntent")
    assert LIMIT["en-US"] in a.speech
    assert any("en-ZA" in record.getMessage() and "en-US" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("locale", ["en-GB", "en-AU"])
def test_where_the_us_figure_is_not_the_markets_only_detail_may_name_it(locale: str) -> None:
    # The rule: a UK answer must not say "US health authorities" unless it is given as detail.
    for key, entry in load_catalog(locale).items():
        if key.endswith(".more"):
            continue
        for sentence in (*entry.say, *entry.reprompt, entry.card or ""):
            assert not re.search(r"\bUS\b|National Institutes", sentence), (key, sentence)
            # The UK's own figure is the NHS's 400: 350 may be said only as a study's dose, never as a limit.
            assert locale != "en-GB" or not re.search(r"350 milligram[s]? (a day )?(from )?supplement", sentence), (key, sentence)


@pytest.mark.parametrize(("locale", "spelling"), [("en-US", "diarrhea"), ("en-CA", "diarrhea"), ("en-GB", "diarrhoea"),
                                                  ("en-AU", "diarrhoea"), ("en-IN", "diarrhoea")])
def test_cards_are_spelled_as_the_market_spells(locale: str, spelling: str) -> None:
    text = " ".join(s for _, entry in load_catalog(locale).items() for s in (*entry.say, entry.card or ""))
    other = "diarrhoea" if spelling == "diarrhea" else "diarrhea"
    assert spelling in text.lower() and other not in text.lower()


def test_every_market_keeps_every_key_of_the_base() -> None:
    base = set(load_catalog("en-US"))
    for locale in MARKETS:
        assert set(load_catalog(locale)) == base, locale


def _market_files(words: str, override: str) -> dict[str, str]:
    files = {f"en-US/{name}": data.decode("utf-8") for name, data in source_files(CONTENT_DIR / "en-US").items()}
    return {**files, "market.toml": f'base = "en-US"\n{words}', "limits.toml": override}


def test_an_override_citing_another_markets_figure_does_not_compile() -> None:
    override = '[dose.upper_limit]\nsay = ["Note that the NHMRC sets 350 milligrams."]\nfacts = ["U2"]\n'
    with pytest.raises(ContentError, match="cites U2, which en-GB does not hold"):
        parse_catalog(_market_files("", override), "en-GB")


def test_an_override_of_no_entry_and_a_word_never_said_do_not_compile() -> None:
    with pytest.raises(ContentError) as caught:
        parse_catalog(_market_files('[words]\n"bathroom scales" = "bathroom scales"\n',
                                    '[dose.made_up]\nsay = ["Hello."]\nfacts = ["U1"]\n'), "en-GB")
    assert "dose.made_up: replaces no entry of en-US" in str(caught.value)
    assert "'bathroom scales' is never said in en-US" in str(caught.value)


@pytest.mark.parametrize(("locale", "said"), [("en-US", "10:30 PM"), ("en-CA", "10:30 PM"), ("en-IN", "10:30 PM"),
                                              ("en-GB", "10:30 pm"), ("en-AU", "10:30 pm")])
def test_a_bedtime_is_said_and_carded_in_the_markets_clock_style(talk: Conversation, locale: str, said: str) -> None:
    talk.locale = locale
    a = talk.ask("SetBedtimeIntent", time="22:30")
    assert said in a.speech and said in a.body["card"]["content"]


@pytest.mark.parametrize(("locale", "said"), [("en-GB", "10:30 pm"), ("en-AU", "10:30 pm"), ("en-IN", "10:30 PM")])
def test_my_bedtime_is_half_ten_keeps_half_past_ten(talk: Conversation, locale: str, said: str) -> None:
    talk.locale = locale
    a = talk.ask("SetBedtimeIntent", half_past="10")  # U: my bedtime's half ten
    assert a.said("routine.bedtime_saved") and said in a.speech and said in a.body["card"]["content"]


def test_a_cold_start_reads_en_us_alone_and_a_market_on_its_first_request(talk: Conversation) -> None:
    from skill.builder import MarketCatalogs, build_skill
    from skill.settings import Settings

    catalogs: list[MarketCatalogs] = []
    real = MarketCatalogs.__init__

    def spy(self: MarketCatalogs, locales: list[str]) -> None:
        real(self, locales)
        catalogs.append(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(MarketCatalogs, "__init__", spy)
        skill = build_skill(Settings(_env_file=None, persistence="none", alexa_api=False))
    assert set(catalogs[0]._loaded) == {"en-US"}
    uk = Conversation(SkillRunner(skill), [], locale="en-GB")
    uk.ask("DoseIntent")  # A: first, a quick check...
    assert "NHS" in uk.ask("AMAZON.NoIntent").speech
    assert set(catalogs[0]._loaded) == {"en-US", "en-GB"}


@pytest.mark.parametrize(("said", "context"), [
    ("i'm on me fluid tablets", ()),
    ("i take oroxine of a morning how much magnesium can i have", ()),
    ("how much should i be having", ("i'm up the duff",)),
    ("me nanna's in aged care how much magnesium can she have", ()),
])
def test_australian_words_for_a_medicine_or_a_person_gate_in_en_au(said: str, context: tuple[str, ...]) -> None:
    # U (en-AU): I'm on me fluid tablets   A: ... ask your GP or chemist first. Never a figure.
    from skill_tools.phrasebank import Phrase, Scorer

    scored = Scorer(mode="resolver", locale="en-AU").score(Phrase("au-x1", said, {"outcome": "gated"}, context))
    assert scored.right and not scored.dose_spoken, (said, scored.intent, scored.keys)
