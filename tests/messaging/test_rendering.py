"""A message's text is shown inert, whatever was typed; only http(s) addresses become
links; authors are named as the procedure wants."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import AuthorKind, Message
from plugins.messaging.rendering import author_name, message_html
from plugins.messaging.services import Side


def render(text: str) -> str:
    return str(message_html(text))


@pytest.mark.parametrize(
    "typed,shown",
    [
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ('<img src=x onerror="alert(1)">', "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;"),
        ("&lt;b&gt; &amp; &#60;", "&amp;lt;b&amp;gt; &amp;amp; &amp;#60;"),
        ('Tom & Jerry\'s "quote"', "Tom &amp; Jerry&#39;s &#34;quote&#34;"),
        ("{{ 7*7 }} {% raw %}", "{{ 7*7 }} {% raw %}"),
    ],
)
def test_markup_typed_in_a_message_is_escaped(app, typed, shown):
    with app.test_request_context():
        assert render(typed) == shown


@pytest.mark.parametrize(
    "typed",
    [
        "javascript:alert(1)",
        "<a href='javascript:alert(1)'>clic</a>",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "vbscript:msgbox(1)",
        "JaVaScRiPt:alert(document.cookie)",
        "http://",
    ],
)
def test_other_schemes_never_become_links(app, typed):
    with app.test_request_context():
        assert "<a " not in render(typed)


def test_http_addresses_become_links_that_open_in_a_new_window(app):
    with app.test_request_context():
        html = render("Voir https://example.org/a?b=1&c=2.")
    assert html.startswith(
        'Voir <a href="https://example.org/a?b=1&amp;c=2" '
        'rel="noopener noreferrer nofollow" target="_blank">https://example.org/a?b=1&amp;c=2'
        '<span class="usa-sr-only"> '
    )
    assert html.endswith("</span></a>.")


def test_an_address_cannot_break_out_of_its_attribute(app):
    with app.test_request_context():
        html = render('https://example.org/"onmouseover="alert(1) https://x.org/<script>')
    assert 'href="https://example.org/"' in html
    assert "onmouseover=&#34;" in html
    assert "<script" not in html and 'href="https://x.org/"' in html


def test_a_closing_parenthesis_after_an_address_stays_outside_the_link(app):
    with app.test_request_context():
        html = render("(voir http://example.org/page) et http://w.org/a_(b)")
    assert 'href="http://example.org/page"' in html
    assert 'href="http://w.org/a_(b)"' in html


def test_the_visually_hidden_note_uses_the_given_class(app):
    with app.test_request_context():
        assert 'class="sr-only"' in str(message_html("https://example.org", "sr-only"))


def test_very_long_text_is_rendered_whole_and_escaped(app):
    text = ("<b>x</b>" * 2000) + "\n" + "https://example.org/" + "a" * 5000
    with app.test_request_context():
        html = render(text)
    assert html.count("&lt;b&gt;x&lt;/b&gt;") == 2000
    assert "<b>" not in html and html.count("<a ") == 1


def test_line_breaks_are_kept_as_typed(app):
    with app.test_request_context():
        assert render("un\n\ndeux\n  trois") == "un\n\ndeux\n  trois"


def test_agents_are_named_or_hidden_as_the_procedure_says(world):
    with world.app.test_request_context():
        dossier, agent = world.dossier(), world.user("agent")
        message = Message(
            dossier_id=dossier.id, author_id=agent.id, author_kind=AuthorKind.agent, body="x"
        )
        db.session.add(message)
        db.session.commit()
        procedure = dossier.procedure
        assert author_name(message, procedure, Side.applicant) == agent.email
        procedure.hide_agent_identity = True
        db.session.commit()
        assert author_name(message, procedure, Side.applicant) == "Instructeur"  # French UI
        assert author_name(message, procedure, Side.agent) == agent.email  # colleagues know
        assert author_name(message, procedure, Side.agent, agent) != agent.email  # "You"
        message.author_kind = AuthorKind.expert
        assert author_name(message, procedure, Side.applicant) == "Expert"
