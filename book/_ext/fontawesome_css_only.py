"""Draw the theme's icons with Font Awesome's web fonts only, without its 1.5 MB JavaScript twin.

What it is: a small Sphinx extension that runs after an HTML build. pydata-sphinx-theme (under
sphinx-book-theme) ships Font Awesome twice: its stylesheet declares the Font Awesome 6 web fonts and the rules
for every icon class (``.fa-solid``, ``.fab``, ``.fa-github:before``, ...), and every page also loads
``_static/scripts/fontawesome.js`` (Font Awesome's ``all.min.js``, 1.49 MB, 0.54 MB gzipped; the theme's
source imports nothing else into it), which replaces each ``<i class="fa-...">`` with an inline SVG of the same
icon. The stylesheet alone draws the icons, so the script is the largest file of a first visit and adds
nothing a reader sees. This extension removes its ``<script>`` tag from every page written and deletes the
script and its source map from ``_static/scripts``.

What it is not: a theme fork. Nothing else in the pages or the theme's files changes; if a theme release stops
loading the script (or renames it), the extension finds nothing to remove and does nothing.

References: pydata-sphinx-theme 0.17, ``assets/scripts/fontawesome.js`` and ``static/webpack-macros.html``;
Font Awesome 6 documentation, "Web Fonts + CSS" and "SVG + JS" (two alternative ways to draw the same icons).
"""

from __future__ import annotations

import re
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

SCRIPT_TAG = re.compile(r'[ \t]*<script[^>]*\ssrc="[^"]*_static/scripts/fontawesome\.js[^"]*"[^>]*>\s*</script>\n?')
SCRIPT_FILES = ("fontawesome.js", "fontawesome.js.map")


def strip_script_tag(html: str) -> tuple[str, int]:
    """Remove the ``<script>`` tags that load the theme's ``fontawesome.js`` from a page.

    Args:
        html: an HTML page.

    Returns:
        The page without those tags, and how many were removed.

    >>> page = '<head>\\n  <script defer src="../_static/scripts/fontawesome.js?digest=55c2"></script>\\n</head>'
    >>> strip_script_tag(page)
    ('<head>\\n</head>', 1)
    >>> strip_script_tag('<script src="_static/scripts/bootstrap.js"></script>')[1]
    0
    """
    return SCRIPT_TAG.subn("", html)


def _strip_site(app, exc) -> None:
    if exc is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    pages = 0
    for page in outdir.rglob("*.html"):
        html, count = strip_script_tag(page.read_text(encoding="utf-8"))
        if count:
            page.write_text(html, encoding="utf-8")
            pages += 1
    for name in SCRIPT_FILES:
        (outdir / "_static" / "scripts" / name).unlink(missing_ok=True)
    logger.info(f"fontawesome_css_only: removed fontawesome.js from {pages} pages")


def setup(app):
    app.connect("build-finished", _strip_site)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
