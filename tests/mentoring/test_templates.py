"""Templates render in Italian and English, check placeholders, fit in 4 096 bytes."""

from __future__ import annotations

import pytest

from middleware.mentoring.facts import KINDS
from middleware.mentoring.templates import (
    DEFAULT_TEMPLATES,
    MOODLE_MAX_BYTES,
    PromptValues,
    TemplateError,
    normalise_lang,
    render_message,
    validate_template,
)

LINK = "http://127.0.0.1:8081/mod/forum/discuss.php?d=42"
VALUES = PromptValues(name="Anna", other="Bruno Esposito", discussion="Come si cita un'opera?",
                      link=LINK, course="Didattica online")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("lang", ["it", "en"])
def test_every_kind_has_a_valid_default_in_both_languages(kind, lang):
    body = DEFAULT_TEMPLATES[kind][lang]
    assert validate_template(kind, body) == body
    message = render_message(body, VALUES, "circolo7", lang)
    assert "Anna" in message and f'<a href="{LINK}">' in message
    assert message.count(LINK) == 2  # one anchor: href and its text
    assert ("Riferimento Circolo: circolo7" if lang == "it" else "Circolo reference: circolo7") \
        in message
    assert len(message.encode()) <= MOODLE_MAX_BYTES


def test_italian_and_english_wordings_differ():
    for kind in KINDS:
        assert DEFAULT_TEMPLATES[kind]["it"] != DEFAULT_TEMPLATES[kind]["en"]


def test_values_are_escaped_as_html():
    values = PromptValues(name="<script>x</script>", discussion="A & B", link=LINK + "&x=1")
    message = render_message("Ciao {name}: {discussion} {link}", values, "circolo1", "it")
    assert "<script>" not in message and "&lt;script&gt;" in message
    assert "A &amp; B" in message and 'href="' + LINK + '&amp;x=1"' in message


def test_link_is_added_when_the_wording_leaves_it_out():
    message = render_message("Grazie {name}!", VALUES, "circolo1", "it")
    assert f'<a href="{LINK}">' in message


@pytest.mark.parametrize("body, code", [
    ("Ciao {nome}", "unknown_placeholder"),
    ("Ciao {name.__class__}", "unknown_placeholder"),
    ("Ciao {name!r}", "unknown_placeholder"),
    ("Ciao {name:>999999}", "unknown_placeholder"),
    ("Ciao {name", "broken_braces"),
    ("Ciao name}", "broken_braces"),
    ("   ", "empty"),
    ("x" * 1501 + "{discussion}", "too_long"),
    ("Ciao {name}, guarda qui {link}", "missing_placeholder"),
])
def test_a_teachers_wording_is_refused_with_the_reason(body, code):
    with pytest.raises(TemplateError) as refused:
        validate_template("route_peer", body)
    assert code in {c for c, _ in refused.value.problems}


def test_a_valid_wording_is_cleaned_of_stray_whitespace():
    assert validate_template("route_peer", "  Ciao {name}\r\nvedi {discussion} {link} ") == \
        "Ciao {name}\nvedi {discussion} {link}"


@pytest.mark.parametrize("filler", ["è", "🙂", "a & b ", "parola "])
def test_long_messages_are_cut_in_whole_characters_keeping_link_and_reference(filler):
    body = "Ciao {name}, " + filler * (5000 // len(filler.encode())) + " {discussion}\nfine {link}"
    assert len(body) > 0
    message = render_message(body, VALUES, "circolo99999", "it")
    encoded = message.encode()
    assert len(encoded) <= MOODLE_MAX_BYTES
    assert encoded.decode() == message  # never half a character
    assert f'<a href="{LINK}">{LINK}</a>' in message
    assert message.endswith("<p><small>Riferimento Circolo: circolo99999</small></p>")
    assert "…" in message
    assert len(encoded) > MOODLE_MAX_BYTES - 200  # cut just enough, not everything


def test_long_titles_and_names_are_shortened_with_an_ellipsis():
    values = PromptValues(name="N" * 300, discussion="T" * 900, link=LINK)
    message = render_message("{name} {discussion} {link}", values, "circolo1", "en")
    assert "N" * 79 + "…" in message and "T" * 149 + "…" in message


def test_languages_are_normalised_with_a_fallback():
    assert normalise_lang("it_IT") == "it" and normalise_lang("en-us") == "en"
    assert normalise_lang("de", "it") == "it" and normalise_lang("", "fr") == "en"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("lang", ["it", "en"])
def test_worst_case_values_stay_under_moodles_limit(kind, lang):
    values = PromptValues(name="🙂" * 500, other="Ä" * 500, discussion="<&>" * 400,
                          link=LINK + "&x=" + "9" * 300, course="€" * 500)
    message = render_message(DEFAULT_TEMPLATES[kind][lang] * 3, values, "circolo123456", lang)
    assert len(message.encode()) <= MOODLE_MAX_BYTES
    assert "circolo123456" in message and 'href="' + LINK + "&amp;x=" + "9" * 300 in message
