"""Viewports and layout checks shared by the browser tests."""

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 812}


def scroll_width(page) -> int:
    """The page's full width in CSS pixels; wider than the window means it scrolls sideways."""
    return page.evaluate("document.documentElement.scrollWidth")


def widest_elements(page, limit: int = 5) -> list[str]:
    """The elements sticking out past the right edge, to say *what* overflows when a check fails."""
    return page.evaluate(
        """limit => [...document.querySelectorAll('body *')]
            .map(el => [el, el.getBoundingClientRect().right])
            .filter(([, right]) => right > window.innerWidth + 1)
            .sort((a, b) => b[1] - a[1]).slice(0, limit)
            .map(([el, right]) => {
                const name = [el.tagName.toLowerCase(), ...el.classList].join('.');
                return `${name} right=${Math.round(right)}px`;
            })""",
        limit,
    )
