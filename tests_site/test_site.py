"""The built book in a real browser: headless Chromium, offline, over http://127.0.0.1 and file://.

Every page of the navigation is opened once per scheme; each test below then checks one property of
what the browser saw:

* the page loads, with no uncaught JavaScript error (except :data:`ALLOWED_PAGE_ERRORS`) and no request
  that leaves the machine or fails;
* MathJax is loaded from the site itself and typesets every math element: no element left untypeset, no
  ``mjx-merror``, no raw TeX delimiters in the visible text;
* every internal link resolves to a file of the site, and its anchor to an element of that page;
* every image loads; the download buttons point to files that exist;
* the search page returns results; the CJK web font loads where the page shows Chinese.

Run after a build: ``jupyter-book build . && python -m pytest tests_site/``.
"""
import posixpath
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

# Uncaught page errors that are not the book's: (message regex, page regex, schemes, why it is tolerated).
ALLOWED_PAGE_ERRORS = [
    (r"Identifier 'THEBE_JS_URL' has already been declared", r".", ("http", "file"),
     "sphinx-thebe 0.3.1 (loaded by Jupyter Book) writes its inline config script (const THEBE_JS_URL = ...) "
     "twice into every page, so the second copy throws; thebe is off in _config.yml "
     "(launch_buttons.thebe: false), so nothing on the page uses it."),
    (r"^Failed to fetch$", r"^search\.html$", ("file",),
     "Sphinx's search fetch()es each hit's page to show a snippet; browsers forbid fetch() from file:// "
     "pages, so over file:// the hits are listed without snippets (they are still found and linked)."),
]


def _allowed(message: str, page: str, scheme: str) -> bool:
    return any(re.search(msg, message) and re.search(where, page) and scheme in schemes
               for msg, where, schemes, _why in ALLOWED_PAGE_ERRORS)


# Raw TeX that MathJax should have consumed (outside code, where such text is legitimate).
RAW_TEX = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$|\\begin\{|\\frac\{")

COLLECT_JS = """
async () => {
  const out = {mathjax: null, mathjaxSrc: [], math: 0, untypeset: [], merror: [], rawText: [],
               links: [], images: [], downloads: []};
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
    if (MathJax.typesetPromise) { await MathJax.typesetPromise(); }
    out.mathjax = MathJax.version || 'loaded';
  }
  out.mathjaxSrc = [...document.scripts].map(s => s.src).filter(s => /mathjax/i.test(s));
  const math = [...document.querySelectorAll('.math')];
  out.math = math.length;
  out.untypeset = math.filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.trim().slice(0, 80));
  out.merror = [...document.querySelectorAll('mjx-merror')].map(e => e.textContent.trim().slice(0, 80));
  const skip = 'script, style, pre, code, textarea, mjx-container, .highlight, .output, .cell_output';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (n.parentElement && !n.parentElement.closest(skip) && n.textContent.trim()) {
      out.rawText.push(n.textContent);
    }
  }
  out.links = [...document.querySelectorAll('a[href]')].map(a => a.href);
  out.images = [...document.images].map(i => ({src: i.currentSrc || i.src, complete: i.complete,
                                               width: i.naturalWidth, lazy: i.loading === 'lazy'}));
  out.downloads = [...document.querySelectorAll('.dropdown-download-buttons a[href]')].map(a => a.href);
  return out;
}
"""


# A phone: the narrowest common CSS viewport (iPhone SE / mini). A display equation wider than its column
# must scroll inside its own box (the theme sets ``overflow: auto`` on ``div.math mjx-container``), never
# widen the page; tools/wide_equations.py lists the ones that scroll, to be broken with ``\\``.
PHONE_WIDTH = 375

PHONE_MATH_JS = """
async () => {
  if (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) { return []; }
  await MathJax.startup.promise;
  const out = [];
  for (const item of MathJax.startup.document.math) {
    const box = item.typesetRoot;                       // the mjx-container (display or inline)
    const math = box.querySelector('mjx-math');
    const r = box.getBoundingClientRect();
    let scroller = false;                               // inside a table (or other box) that scrolls sideways?
    for (let a = box.parentElement; a && a !== document.body; a = a.parentElement) {
      if (['auto', 'scroll'].includes(getComputedStyle(a).overflowX)) { scroller = true; break; }
    }
    out.push({display: item.display, scroller, tex: item.math.split(/\\s+/).join(' ').trim(), width: Math.round(math.getBoundingClientRect().width),
              avail: box.clientWidth, left: Math.round(r.left), right: Math.round(r.right), overflowX: getComputedStyle(box).overflowX});
  }
  return out;
}
"""


def phone_math(browser, url_of, pages) -> dict[str, list[dict]]:
    """Every display equation of every page, as laid out at a phone's width: {page: [equation, ...]}.

    Each equation: its TeX, its rendered ``width``, the width ``avail`` of its box, the box's right edge
    and its CSS ``overflowX``. An equation *scrolls* if width > avail; it *breaks the layout* if it is wider
    than its box and the box does not scroll, or if the box itself sticks out of the screen (either side).
    """
    page = browser.new_page(viewport={"width": PHONE_WIDTH, "height": 800})
    seen = {}
    for rel in pages:
        page.goto(url_of(rel), wait_until="load")
        seen[rel] = page.evaluate(PHONE_MATH_JS)
    page.close()
    return seen


def breaks_phone_layout(eq: dict) -> bool:
    too_wide = eq["width"] > eq["avail"] + 1 and eq["overflowX"] not in ("auto", "scroll")
    if eq.get("scroller"):  # inside a box that scrolls sideways (a wide table): reachable by scrolling it
        return too_wide
    return too_wide or eq["left"] < -1 or eq["right"] > PHONE_WIDTH + 1


def _nav_pages(site: Path) -> list[str]:
    """Paths (relative to the site) of the landing page and every page of the sidebar navigation."""
    redirect = (site / "index.html").read_text(encoding="utf-8")
    root = re.search(r"url=([^\"]+)\"", redirect).group(1)  # index.html redirects to the root document
    html = (site / root).read_text(encoding="utf-8")
    nav = html[html.index('class="bd-links bd-docs-nav'):]
    nav = nav[: nav.index("</nav>")]
    pages = [root]
    for href in re.findall(r'<a class="reference internal" href="([^"#]+)', nav):
        rel = posixpath.normpath(posixpath.join(posixpath.dirname(root), href))
        if rel not in pages:
            pages.append(rel)
    return pages


def _visit(browser, url_of, pages):
    """Open every page in turn in one tab; return {page: record} of what the browser saw."""
    context = browser.new_context()
    page = context.new_page()
    local = ("http://127.0.0.1", "file://", "data:", "blob:", "about:")
    record: dict = {}
    # listeners only observe (no request interception, which would route every request through Python)
    page.on("pageerror", lambda exc: record["errors"].append(str(exc)))
    page.on("request", lambda req: None if req.url.startswith(local) else record["outside"].append(req.url))
    page.on("requestfailed", lambda req: record["failed"].append(f"{req.url} ({req.failure})"))
    page.on("response", lambda resp: record["failed"].append(f"{resp.url} (HTTP {resp.status})")
            if resp.status >= 400 else None)
    records = {}
    for rel in pages:
        record = records[rel] = {"errors": [], "outside": [], "failed": []}
        response = page.goto(url_of(rel), wait_until="load")
        record["status"] = response.status if response is not None else None
        record.update(page.evaluate(COLLECT_JS))
    page.goto("about:blank")
    context.close()
    return records


@pytest.fixture(scope="session")
def pages(site):
    return _nav_pages(site)


@pytest.fixture(scope="session")
def seen(browser, site, http_root, pages):
    """What the browser saw on every page, per scheme."""
    return {
        "http": _visit(browser, lambda rel: http_root + rel, pages),
        "file": _visit(browser, lambda rel: (site / rel).as_uri(), pages),
    }


def _local_path(url: str, site: Path, http_root: str) -> Path | None:
    """The site file a URL points at, or None for a URL outside the site."""
    if url.startswith(http_root):
        rel = unquote(urlsplit(url).path).lstrip("/")
        path = site / rel
    elif url.startswith("file://"):
        path = Path(unquote(urlsplit(url).path))
    else:
        return None
    return path / "index.html" if path.is_dir() else path


_IDS: dict[Path, set[str]] = {}


def _ids(path: Path) -> set[str]:
    if path not in _IDS:
        html = path.read_text(encoding="utf-8", errors="replace")
        _IDS[path] = set(re.findall(r'\b(?:id|name)="([^"]+)"', html))
    return _IDS[path]


def test_navigation_has_every_part(pages):
    # the sidebar lists the front matter, every part's chapters, the back matter and the API reference
    assert len(pages) >= 20
    for expected in ("book/setup.html", "book/faq.html", "book/glossary.html", "book/references.html",
                                  "book/api/index.html", "book/part1/01_forward_pass.html", "book/part2/01_schedules.html"):
        assert expected in pages


@pytest.mark.parametrize("scheme", ["http", "file"])
def test_every_page_loads_without_errors(seen, scheme):
    problems = []
    for rel, r in seen[scheme].items():
        if scheme == "http" and r["status"] != 200:
            problems.append(f"{rel}: HTTP {r['status']}")
        errors = [e for e in r["errors"] if not _allowed(e, rel, scheme)]
        problems += [f"{rel}: page error: {e}" for e in errors]
        problems += [f"{rel}: request leaves the machine: {u}" for u in r["outside"]]
        problems += [f"{rel}: failed request: {u}" for u in r["failed"]]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("scheme", ["http", "file"])
def test_mathjax_from_the_site_typesets_every_formula(seen, scheme, site, http_root):
    problems, total = [], 0
    for rel, r in seen[scheme].items():
        total += r["math"]
        if r["math"] and r["mathjax"] is None:
            problems.append(f"{rel}: {r['math']} math elements but MathJax did not load")
        for src in r["mathjaxSrc"]:
            path = _local_path(src, site, http_root)
            if path is None or not path.is_file():
                problems.append(f"{rel}: MathJax not served by the site: {src}")
        problems += [f"{rel}: not typeset: {t!r}" for t in r["untypeset"]]
        problems += [f"{rel}: MathJax error: {t!r}" for t in r["merror"]]
        problems += [f"{rel}: raw TeX in the text: {t.strip()[:100]!r}" for t in r["rawText"] if RAW_TEX.search(t)]
    assert total > 100  # the book is full of math: if nothing was found, the selector is wrong
    assert not problems, "\n".join(problems)


def test_every_internal_link_and_anchor_resolves(seen, site, http_root):
    problems, checked = set(), 0
    for rel, r in seen["http"].items():
        for href in r["links"]:
            path = _local_path(href, site, http_root)
            if path is None:
                continue  # external or mailto: not followed offline
            checked += 1
            if not path.is_file():
                problems.add(f"{rel}: broken link {href}")
                continue
            fragment = unquote(urlsplit(href).fragment)
            if fragment and path.suffix == ".html" and fragment not in _ids(path):
                problems.add(f"{rel}: no anchor #{fragment} in {path.relative_to(site)}")
    assert checked > 500
    assert not problems, "\n".join(sorted(problems))


def test_every_image_loads(seen, site, http_root):
    problems, count = [], 0
    for rel, r in seen["http"].items():
        for img in r["images"]:
            count += 1
            path = _local_path(img["src"], site, http_root)
            if img["src"].startswith("data:"):
                ok = True
            else:
                ok = path is not None and path.is_file()
            if not img["lazy"]:  # lazy images off screen are not fetched until scrolled to
                ok = ok and img["complete"] and img["width"] > 0
            if not ok:
                problems.append(f"{rel}: image does not load: {img['src'][:120]}")
    assert count > 20
    assert not problems, "\n".join(problems)


def test_download_buttons_point_to_files_that_exist(seen, site, http_root):
    problems, count = [], 0
    for rel, r in seen["http"].items():
        for href in r["downloads"]:
            count += 1
            path = _local_path(href, site, http_root)
            if path is None or not path.is_file():
                problems.append(f"{rel}: download missing: {href}")
    assert count >= len(seen["http"]) - 1
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("scheme", ["http", "file"])
def test_search_returns_results(browser, site, http_root, scheme):
    base = http_root + "search.html" if scheme == "http" else (site / "search.html").as_uri()
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base + "?q=learning+rate")
    page.wait_for_selector("ul.search li", timeout=30_000)
    hits = page.locator("ul.search li a").evaluate_all("links => links.map(a => a.href)")
    page.close()
    assert len(hits) >= 5, hits
    assert any("/book/part" in h for h in hits), hits  # chapters, not only the glossary or the API
    assert not [e for e in errors if not _allowed(e, "search.html", scheme)], errors


def test_the_site_root_redirects_to_the_landing_page(browser, http_root, pages):
    page = browser.new_page()
    page.goto(http_root)
    page.wait_for_url(http_root + pages[0], timeout=10_000)
    assert page.locator("h1").first.inner_text().startswith("Dynamic Scheduling")
    page.close()


def test_the_cjk_web_font_loads_for_the_chinese_text(browser, http_root, pages):
    # the landing page quotes the sources' Chinese titles: the browser must fetch and use the shipped subset
    page = browser.new_page()
    page.goto(http_root + pages[0], wait_until="load")
    status = page.evaluate("""async () => {
        await document.fonts.ready;
        return [...document.fonts].filter(f => f.family.replace(/"/g, '') === 'DSAT Noto Sans SC')
                                  .map(f => f.status);
    }""")
    page.close()
    assert status == ["loaded"], status


def test_no_display_equation_breaks_a_phone_layout(browser, http_root, pages):
    # at 375 px every display equation fits its column or scrolls inside its own box; none widens the page
    # -- and so does every inline formula (MathJax 3 cannot break one across lines: book/_static/math-phone.css
    # lets a too-wide one scroll inside itself instead of being cut off at the column's edge)
    seen = phone_math(browser, lambda rel: http_root + rel, pages)
    equations = [(rel, eq) for rel, eqs in seen.items() for eq in eqs]
    assert sum(eq["display"] for _, eq in equations) > 100  # the book is full of displays: else the script is wrong
    assert sum(not eq["display"] for _, eq in equations) > 500
    problems = [f"{rel}: {'display' if eq['display'] else 'inline'} {eq['width']}px in a {eq['avail']}px box "
                f"(overflow-x: {eq['overflowX']}, box from {eq['left']} to {eq['right']}px): {eq['tex'][:100]}"
                for rel, eq in equations if breaks_phone_layout(eq)]
    assert not problems, "\n".join(problems)
