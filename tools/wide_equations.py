"""List the display equations of the built site that do not fit a 375-px phone screen.

A developer tool. Run after a build: ``python tools/wide_equations.py``. It opens every page of the navigation
in the system Chromium (Playwright, like tests_site/) at a 375-px viewport and measures each display equation
as MathJax rendered it. Each line gives the page, the rendered width in CSS pixels, the width of the
equation's box and the TeX, widest first within a page.

Such an equation does not break the page: its box scrolls horizontally (``overflow: auto`` on
``div.math mjx-container``, from the theme), and ``tests_site/`` fails if a display equation is ever wider
than its box without scrolling, or sticks out of the screen. The ones listed here still make the reader
scroll sideways: break them where the formula has a natural seam (``\\begin{aligned} ... \\\\ ...``, one
equation per line, or two displays). Exit status 1 if any breaks the layout.
"""
from pathlib import Path
import sys

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tests_site'))

from playwright.sync_api import sync_playwright  # noqa: E402

import conftest  # noqa: E402
import test_site  # noqa: E402

SITE = conftest.SITE


def main() -> int:
    pages = test_site._nav_pages(SITE)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=conftest.CHROMIUM, args=conftest.CHROMIUM_ARGS)
        seen = test_site.phone_math(browser, lambda rel: (SITE / rel).as_uri(), pages)
        browser.close()
    total = scrolling = broken = 0
    for rel, eqs in seen.items():
        total += len(eqs)
        wide = sorted((e for e in eqs if e['width'] > e['avail'] + 1 or test_site.breaks_phone_layout(e)),
                      key=lambda e: -e['width'])
        if not wide:
            continue
        print('##', rel)
        for e in wide:
            bad = test_site.breaks_phone_layout(e)
            scrolling += not bad
            broken += bad
            flag = 'BREAKS THE LAYOUT ' if bad else ''
            kind = 'display' if e['display'] else 'inline'
            print(f"  {flag}{kind} {e['width']}px (box {e['avail']}px): {e['tex'][:160]}")
    print(f'{total} equations (display and inline); {scrolling} scroll inside their box at '
          f'{test_site.PHONE_WIDTH} px; {broken} break the layout')
    return 1 if broken else 0


if __name__ == '__main__':
    sys.exit(main())
