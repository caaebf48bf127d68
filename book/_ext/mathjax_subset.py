"""Serve MathJax offline, but only the files a page of this book can ask for.

What it is: a small Sphinx extension used in place of ``sphinx-mathjax-offline``. That package ships the whole
MathJax 3.2.2 distribution (24 MB, 106 files: nine combined bundles, the SVG output, speech rules in thirteen
languages, a Node.js entry point) and copies all of it into ``_build/html/_static/mathjax`` on every build.
A page loads one bundle, ``tex-chtml.js``, and MathJax's loader then fetches further files from the same folder
only on demand. This extension points Sphinx at that bundle, as the package does, and copies only the files
that can be fetched (``KEEP``; 4.3 MB):

- ``tex-chtml.js``: the bundle every page loads (loader, startup, core, TeX input with the ``ams``,
  ``newcommand``, ``noundefined``, ``require``, ``autoload`` and ``configmacros`` packages, CommonHTML output,
  the menu and ``a11y/assistive-mml``; see its ``Loader.preLoad`` lists);
- ``output/chtml/fonts/woff-v2/*.woff``: the fonts the CommonHTML output's ``@font-face`` rules load;
- ``input/tex/extensions/*.js``: the TeX packages ``autoload`` fetches the first time a macro of theirs appears
  (``\\boldsymbol`` -> ``boldsymbol``, ``\\cancel`` -> ``cancel`` + ``enclose``, ``\\color`` -> ``color``, ...;
  the map is in ``autoload.js``) or ``\\require{...}`` asks for;
- what the MathJax context menu loads when a reader picks an option: ``output/svg.js`` and its font
  (Renderer > SVG), ``a11y/explorer``, ``a11y/complexity``, ``a11y/semantic-enrich`` with its dependencies
  ``input/mml`` and ``a11y/sre``, and the English speech rules (``sre/mathmaps/base.json``, ``en.json``: the
  book's language), ``ui/lazy.js`` and ``ui/safe.js``.

Left out: the other eight combined bundles, ``node-main.js``, the separate components already inside
``tex-chtml.js`` (``core.js``, ``startup.js``, ``loader.js``, ``input/tex*.js``, ``output/chtml.js``,
``ui/menu.js``, ...), AsciiMath input, the MathML 3 extension and the speech rules of the other twelve
languages (choosing one of them in the menu's speech options would need the network).

What it is not: a MathJax build. The files are copied unchanged from the installed ``sphinx-mathjax-offline``
package, which stays in ``requirements.txt`` as their source. It does not touch ``mathjax3_config``.

References: MathJax 3 documentation, "MathJax Components" and "The TeX/LaTeX Extension List"
(https://docs.mathjax.org/en/v3.2-latest/); sphinx-mathjax-offline 0.0.2 (its ``__init__.py``: set
``mathjax_path = "mathjax/tex-chtml.js"``, copy ``static/mathjax`` on ``build-finished``).
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

#: The page's script, relative to ``_static`` (Sphinx adds it with ``defer``).
BUNDLE = "tex-chtml.js"

#: Glob patterns, relative to the MathJax folder, of every file a page can load (see the module docstring).
KEEP = (
    BUNDLE,
    "output/chtml/fonts/woff-v2/*.woff",
    "input/tex/extensions/*.js",
    "output/svg.js",
    "output/svg/fonts/tex.js",
    "a11y/explorer.js",
    "a11y/complexity.js",
    "a11y/semantic-enrich.js",
    "a11y/sre.js",
    "input/mml.js",
    "input/mml/entities.js",
    "sre/mathmaps/base.json",
    "sre/mathmaps/en.json",
    "ui/lazy.js",
    "ui/safe.js",
)


def mathjax_source() -> Path:
    """The MathJax distribution folder shipped by the installed ``sphinx-mathjax-offline`` package.

    Returns:
        The folder holding ``tex-chtml.js`` and the rest of MathJax 3.

    >>> (mathjax_source() / "tex-chtml.js").is_file()
    True
    """
    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("sphinx-mathjax-offline is not installed (pip install -r requirements.txt)")
    return Path(next(iter(spec.submodule_search_locations))) / "static" / "mathjax"


def kept_files(source: Path) -> list[str]:
    """The files of ``source`` that ``KEEP`` selects, as sorted POSIX paths relative to ``source``.

    Args:
        source: a MathJax 3 distribution folder (see ``mathjax_source``).

    Returns:
        The selected relative paths.

    Raises:
        FileNotFoundError: if a pattern of ``KEEP`` matches nothing (a MathJax update renamed a file).

    >>> files = kept_files(mathjax_source())
    >>> "tex-chtml.js" in files, "tex-svg.js" in files, "input/tex/extensions/boldsymbol.js" in files
    (True, False, True)
    """
    selected: set[str] = set()
    for pattern in KEEP:
        matches = [p for p in source.glob(pattern) if p.is_file()]
        if not matches:
            raise FileNotFoundError(f"MathJax file pattern {pattern!r} matches nothing under {source}")
        selected.update(p.relative_to(source).as_posix() for p in matches)
    return sorted(selected)


def _use_local_bundle(app, config) -> None:
    config.mathjax_path = f"mathjax/{BUNDLE}"


def _copy_subset(app, exc) -> None:
    if exc is not None or app.builder.format != "html":
        return
    source = mathjax_source()
    target = Path(app.outdir) / "_static" / "mathjax"
    shutil.rmtree(target, ignore_errors=True)  # a site built with the full distribution shrinks too
    for rel in kept_files(source):
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / rel, target / rel)


def setup(app):
    app.connect("config-inited", _use_local_bundle)
    app.connect("build-finished", _copy_subset)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
