"""Sphinx glue for the dsat-tutorial book (loaded through ``sphinx: local_extensions`` in ``_config.yml``).

What it is: three small build-time helpers, none of which changes what the package documents.

1. **"Taught in" links.** Every public docstring ends with a line such as
   ``Taught in: Part II, Fixed and decaying schedules.`` In the API reference that text becomes a link to
   the chapter whose title it names. Matching happens after all pages are read, against the chapter titles
   of that part (``book/part2/...``), so a docstring that names a chapter not yet written stays plain text
   and becomes a link by itself once the chapter exists.
2. **Public paths for type hints.** ``autodoc`` renders a type hint with the class's ``__module__``
   (e.g. ``dsat_tutorial.schedules.base.Schedule``), a private path the API pages do not document: the
   reference is resolved to the documented public name of the same object
   (``dsat_tutorial.schedules.Schedule``); a real but undocumented object (a private base class) is shown
   as code without a link. A name that does not import is left to Sphinx, so ``-n`` still reports it.
3. **An author-year bibliography.** In-text citations are author-year (``bibtex_reference_style:
   author_year``); the pybtex style ``dsat_authoryear`` labels the reference list the same way
   ("Pascanu et al., 2013") and sorts it by author, year and title, instead of numbering it.

What it is not: not part of the ``dsat_tutorial`` package, and it reads nothing outside the repository.

References: Sphinx events API (``autodoc-process-docstring``, ``doctree-resolved``, ``missing-reference``),
https://www.sphinx-doc.org/en/master/extdev/appapi.html; pybtex plugin API, https://docs.pybtex.org/.
"""
from __future__ import annotations

import codecs
import importlib
import re

import latexcodec  # noqa: F401  (registers the 'ulatex' codec; a dependency of pybtex)
from docutils import nodes
from pybtex.plugin import register_plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle
from sphinx.util.nodes import make_refnode

# ---------------------------------------------------------------------------------------------------------
# 1) "Taught in: Part X, Chapter title" -> links
# ---------------------------------------------------------------------------------------------------------
TAUGHT_IN = "Taught in:"
_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5}
_ITEM = re.compile(r"^\s*Part\s+(?P<part>[IVX]+)\s*,\s*(?P<title>.+?)\s*$")


class taught_in(nodes.inline):
    """Placeholder for a "Taught in" sentence; replaced by text and links once all titles are known."""


def normalise_title(text: str) -> str:
    """Lower-case a chapter title, drop a leading "the", parenthetical remarks and end punctuation."""
    text = re.sub(r"\([^)]*\)", " ", text.lower())
    text = re.sub(r"[`*]", "", text)
    text = re.sub(r"\s+", " ", text).strip().rstrip(".:;?!").strip()
    return text[4:] if text.startswith("the ") else text


def titles_match(named: str, title: str) -> bool:
    """True when a docstring's chapter name ``named`` refers to the chapter titled ``title``.

    Equal after :func:`normalise_title`, one a prefix of the other ("Forward pass and shapes" names
    "The forward pass"), or the name a distinctive (>= 10 characters) part of the title ("Decaying
    schedules" names "Fixed and decaying schedules").
    """
    a, b = normalise_title(named), normalise_title(title)
    if not a or not b:
        return False
    return a == b or a.startswith(b) or b.startswith(a) or (len(a) >= 10 and a in b)


def split_items(text: str) -> list[str]:
    """Split "Part I, A; Part II, B." into its items (the end period is dropped)."""
    return [item.strip() for item in text.strip().rstrip(".").split(";") if item.strip()]


def find_chapter(item: str, titles: dict[str, str]) -> str | None:
    """The docname of the chapter an item names, or ``None`` (chapter not written yet, or no match).

    ``titles`` maps docnames to their title text. "Part II, X" only matches pages under ``book/part2/``;
    "Setup" matches ``book/setup``.
    """
    m = _ITEM.match(item)
    if m:
        part = _ROMAN.get(m.group("part"))
        if part is None:
            return None
        prefix, named = f"book/part{part}/", m.group("title")
    else:
        prefix, named = "book/", item
    for docname in sorted(titles):
        if docname.startswith(prefix) and titles_match(named, titles[docname]):
            return docname
    return None


def _mark_taught_in(app, what, name, obj, options, lines):
    """autodoc-process-docstring: turn the "Taught in:" paragraph into a ``:dsat-taught-in:`` role."""
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        if stripped.startswith(TAUGHT_IN):
            indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
            j = i + 1
            while j < len(lines) and lines[j].strip():
                j += 1
            text = " ".join(line.strip() for line in lines[i:j])[len(TAUGHT_IN):].strip()
            if text:
                lines[i:j] = [f"{indent}:dsat-taught-in:`{text.replace('`', '')}`"]
        i += 1


def _taught_in_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    return [taught_in(rawtext, "", reftext=text)], []


def _resolve_taught_in(app, doctree, docname):
    """doctree-resolved: replace each placeholder by "Taught in: " + items, linked where a chapter matches."""
    env = app.builder.env
    titles = {doc: title.astext() for doc, title in env.titles.items()}
    for node in list(doctree.findall(taught_in)):
        new = nodes.inline(classes=["dsat-taught-in"])
        new += nodes.strong(TAUGHT_IN, TAUGHT_IN)
        new += nodes.Text(" ")
        for k, item in enumerate(split_items(node["reftext"])):
            if k:
                new += nodes.Text("; ")
            target = find_chapter(item, titles)
            if target is None:
                new += nodes.Text(item)
            else:
                uri = app.builder.get_relative_uri(docname, target)
                new += nodes.reference(item, item, refuri=uri, internal=True)
        new += nodes.Text(".")
        node.replace_self(new)


# ---------------------------------------------------------------------------------------------------------
# 2) dsat_tutorial.<private path>.Name -> the documented public name of the same object
# ---------------------------------------------------------------------------------------------------------
def _import_dotted(path: str):
    """The object at a dotted path (module attribute chain), or None."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def _public_index(env) -> dict[int, str]:
    """id(object) -> documented full name, for every dsat_tutorial object the API pages describe."""
    cache = getattr(env, "_dsat_public_index", None)
    domain = env.get_domain("py")
    key = len(domain.objects)
    if cache is not None and cache[0] == key:
        return cache[1]
    index: dict[int, str] = {}
    for fullname in sorted(domain.objects, key=len):  # shortest (most public) name wins
        if fullname.startswith("dsat_tutorial."):
            obj = _import_dotted(fullname)
            if obj is not None and not isinstance(obj, (int, float, str, bool, tuple)):
                index.setdefault(id(obj), fullname)
    env._dsat_public_index = (key, index)
    return index


def _candidates(node) -> list[str]:
    """Full dotted paths a py reference may mean: as written, or relative to its module and class."""
    target = node.get("reftarget", "").lstrip(".~")
    if target.startswith("dsat_tutorial."):
        return [target]
    module, cls = node.get("py:module"), node.get("py:class")
    out = []
    if module and cls:
        out.append(f"{module}.{cls}.{target}")
    if module:
        out.append(f"{module}.{target}")
    return [c for c in out if c.startswith("dsat_tutorial.")]


def _missing_reference(app, env, node, contnode):
    """Resolve a dsat_tutorial reference Sphinx could not find.

    A private path to a documented object links to its public name. A real but undocumented object
    (a private base class such as ``FeedbackLR``, a method inherited from one, an internal module) is
    rendered as plain code without a link, and is not a warning: it exists, it is just not public API.
    A name that does not import stays unresolved, so ``-n`` reports it.
    """
    if node.get("refdomain") != "py":
        return None
    for path in _candidates(node):
        obj = _import_dotted(path)
        if obj is None:
            continue
        public = _public_index(env).get(id(obj))
        if public is not None and public != path:
            entry = env.get_domain("py").objects[public]
            if contnode.astext() == path:  # show the public name too, not only link to it
                contnode = nodes.literal(public, public, classes=contnode.get("classes", []))
            return make_refnode(app.builder, node["refdoc"], entry.docname, entry.node_id, contnode, public)
        return contnode
    return None


# ---------------------------------------------------------------------------------------------------------
# 3) author-year labels for the reference list
# ---------------------------------------------------------------------------------------------------------
def author_year_label(last_names: list[str], year: str) -> str:
    """"Kingma and Ba, 2015"; one author: "Nesterov, 1983"; three or more: "Pascanu et al., 2013"."""
    if not last_names:
        who = "Anon."
    elif len(last_names) == 1:
        who = last_names[0]
    elif len(last_names) == 2:
        who = f"{last_names[0]} and {last_names[1]}"
    else:
        who = f"{last_names[0]} et al."
    return f"{who}, {year}"


class AuthorYearLabels(BaseLabelStyle):
    """Labels "Author, year", with a, b, ... appended when two entries would share a label."""

    def format_labels(self, sorted_entries):
        raw = []
        for entry in sorted_entries:
            persons = entry.persons.get("author") or entry.persons.get("editor") or []
            names = [codecs.decode(" ".join(p.prelast_names + p.last_names), "ulatex").replace("{", "").replace("}", "")
                     for p in persons]  # LaTeX accents to Unicode: Ben\'itez -> Benítez
            raw.append(author_year_label(names, entry.fields.get("year", "n.d.")))
        counts = {label: raw.count(label) for label in raw}
        seen: dict[str, int] = {}
        for label in raw:
            if counts[label] > 1:
                seen[label] = seen.get(label, 0) + 1
                yield label + "abcdefghijklmnopqrstuvwxyz"[seen[label] - 1]
            else:
                yield label


class AuthorYearStyle(PlainStyle):
    """pybtex's plain formatting, labelled and sorted by author and year."""

    default_label_style = "dsat_authoryear"
    default_sorting_style = "author_year_title"


register_plugin("pybtex.style.labels", "dsat_authoryear", AuthorYearLabels)
register_plugin("pybtex.style.formatting", "dsat_authoryear", AuthorYearStyle)


def setup(app):
    app.add_node(taught_in)
    app.add_role("dsat-taught-in", _taught_in_role)
    app.connect("autodoc-process-docstring", _mark_taught_in, priority=600)  # after napoleon (500)
    app.connect("doctree-resolved", _resolve_taught_in)
    app.connect("missing-reference", _missing_reference)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
