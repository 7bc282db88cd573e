"""Moodle post HTML as Circolo shows it: cleaned again with nh3 at every render."""

from __future__ import annotations

import nh3
from markupsafe import Markup

#: What a post may keep when shown in Circolo: text structure and links, nothing active and
#: nothing fetched (images would be blocked by the page's img-src anyway).
ALLOWED_TAGS = {"p", "br", "strong", "b", "em", "i", "u", "ul", "ol", "li", "blockquote", "code",
                "pre", "a", "span", "sub", "sup", "h4", "h5", "h6"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}


def sanitise_post_html(html: str | None) -> Markup:
    """Return post HTML cleaned to a small allow-list, safe to put in a page."""
    cleaned = nh3.clean(html or "", tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                        url_schemes={"http", "https", "mailto"},
                        link_rel="noopener noreferrer nofollow")
    return Markup(cleaned)  # noqa: S704 - nh3 just removed everything unsafe
