"""Reading rendered pages the way a person does: visible text, and the text of named parts.

Assertions go through these helpers rather than raw HTML so that a changed CSS class or
an added wrapper does not break a test whose behaviour did not change.
"""

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

_INVISIBLE = {"script", "style", "template"}


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    parts: list[str] = field(default_factory=list)
    hrefs: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return _squash(" ".join(self.parts))

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())


class _Collector(HTMLParser):
    def __init__(self, tag, class_name, attrs):
        super().__init__(convert_charrefs=True)
        self.tag, self.class_name, self.wanted_attrs = tag, class_name, attrs
        self.found: list[Element] = []
        self.open: list[tuple[Element, int]] = []  # matched elements and their nesting depth
        self.depth = 0  # nesting of ``self.tag`` only, so void elements do not matter
        self.invisible = 0
        self.all_text: list[str] = []

    def _matches(self, tag, attrs):
        if self.tag is None or tag != self.tag:
            return False
        if self.class_name and self.class_name not in (attrs.get("class") or "").split():
            return False
        return all(attrs.get(k) == v for k, v in self.wanted_attrs.items())

    def handle_starttag(self, tag, attrs):
        attrs = {k: v or "" for k, v in attrs}
        if tag in _INVISIBLE:
            self.invisible += 1
        if tag == "a" and "href" in attrs:
            for element, _depth in self.open:
                element.hrefs.append(attrs["href"])
        if tag == self.tag:
            self.depth += 1
            if self._matches(tag, attrs):
                element = Element(tag, attrs)
                self.found.append(element)
                self.open.append((element, self.depth))
                if tag == "a" and "href" in attrs:
                    element.hrefs.append(attrs["href"])

    def handle_endtag(self, tag):
        if tag in _INVISIBLE:
            self.invisible = max(0, self.invisible - 1)
        if tag == self.tag:
            while self.open and self.open[-1][1] >= self.depth:
                self.open.pop()
            self.depth -= 1

    def handle_data(self, data):
        if self.invisible:
            return
        self.all_text.append(data)
        for element, _depth in self.open:
            element.parts.append(data)


def _body(page) -> str:
    return page if isinstance(page, str) else page.content.decode()


def text(page) -> str:
    """All visible text of a page or response, whitespace collapsed."""
    collector = _Collector(None, None, {})
    collector.feed(_body(page))
    return _squash(" ".join(collector.all_text))


def elements(page, tag, class_name=None, **attrs) -> list[Element]:
    """Elements ``<tag>`` (with ``class_name`` among their classes, and ``attrs``), in order."""
    attrs = {k.replace("_", "-"): v for k, v in attrs.items()}
    collector = _Collector(tag, class_name, attrs)
    collector.feed(_body(page))
    return collector.found


def element(page, tag, class_name=None, **attrs) -> Element:
    found = elements(page, tag, class_name, **attrs)
    assert len(found) == 1, f"expected one <{tag} class={class_name} {attrs}>, found {len(found)}"
    return found[0]


def nav_labels(page) -> list[str]:
    """The main navigation's entries (not the user menu)."""
    return [a.text for a in elements(page, "a", "nav-link") if "dropdown-toggle" not in a.classes]


def breadcrumb(page) -> list[tuple[str, bool]]:
    """[(name, is_a_link)] of the page's breadcrumb."""
    return [(item.text, bool(item.hrefs)) for item in elements(page, "li", "breadcrumb-item")]
