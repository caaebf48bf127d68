"""Make the book's CJK web font: Noto Sans CJK SC, subset to the Chinese characters the book uses.

What it is: a developer tool. It collects every CJK character in the book's pages (``book/**/*.md``,
``book/**/*.ipynb``, cells and outputs) and in the package's docstrings (``dsat_tutorial/**/*.py``, shown
in the API reference), subsets the system's Noto Sans CJK SC to them with fontTools, and writes
``book/_static/fonts/noto-sans-sc-subset.woff2`` (referenced from ``book/_static/cjk-font.css``). A reader
whose system has no CJK font then still sees the sources' quotations instead of empty boxes.

What it is not: not run by the build or the tests. It reads the system font at development time only
(Debian: ``apt-get install fonts-noto-cjk``); the build ships the committed subset. The test
``tests/test_cjk_font.py`` fails when the book gains a character the subset lacks: then re-run

    python tools/make_cjk_font.py

References: fontTools subsetter, https://fonttools.readthedocs.io/en/latest/subset/; Noto CJK,
https://github.com/googlefonts/noto-cjk (SIL Open Font License 1.1, see book/_static/fonts/OFL.txt).
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "book" / "_static" / "fonts" / "noto-sans-sc-subset.woff2"
SYSTEM_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
SC_NAME = "Noto Sans CJK SC"  # the Simplified Chinese face inside the collection

# Unicode blocks whose characters Latin fonts do not carry (the same list is the CSS unicode-range).
CJK_RANGES = [
    (0x2E80, 0x2FDF),  # CJK radicals supplement, Kangxi radicals
    (0x3000, 0x303F),  # CJK symbols and punctuation (、。「」《》【】)
    (0x3040, 0x30FF),  # hiragana, katakana
    (0x3400, 0x4DBF),  # CJK unified ideographs extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFE30, 0xFE4F),  # CJK compatibility forms
    (0xFF00, 0xFFEF),  # half-width and full-width forms (，：（）！？)
]


_CJK_RE = re.compile("[" + "".join(f"\\u{lo:04x}-\\u{hi:04x}" for lo, hi in CJK_RANGES) + "]")


def is_cjk(char: str) -> bool:
    """True for a character in one of :data:`CJK_RANGES`."""
    code = ord(char)
    return any(lo <= code <= hi for lo, hi in CJK_RANGES)


def _strings(value):
    """Every string inside a decoded JSON value (a notebook's cells, outputs and metadata)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def book_files(root: Path = ROOT) -> list[Path]:
    """The files whose text the site shows: book pages, notebooks and the package's docstrings."""
    files = [*root.glob("book/**/*.md"), *root.glob("book/**/*.ipynb"), *root.glob("dsat_tutorial/**/*.py")]
    return sorted(p for p in files if "_build" not in p.parts and ".ipynb_checkpoints" not in p.parts)


def book_cjk_chars(root: Path = ROOT) -> set[str]:
    """Every CJK character in :func:`book_files`."""
    chars: set[str] = set()
    for path in book_files(root):
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".ipynb":
            # every string of cells and outputs, decoded (nbformat may escape non-ASCII as \\uXXXX)
            text = "\n".join(_strings(json.loads(text)))
        chars.update(_CJK_RE.findall(text))
    return chars


def font_chars(path: Path) -> set[str]:
    """The characters a font file maps to a glyph (its cmap)."""
    from fontTools.ttLib import TTFont

    with TTFont(path) as font:
        return {chr(code) for code in font.getBestCmap()}


def unicode_range_css() -> str:
    """The CSS ``unicode-range`` value for :data:`CJK_RANGES`."""
    return ", ".join(f"U+{lo:04X}-{hi:04X}" for lo, hi in CJK_RANGES)


def make_subset(chars: set[str], source: Path = SYSTEM_FONT, output: Path = OUTPUT) -> int:
    """Subset the Simplified Chinese face of ``source`` to ``chars`` as WOFF2; returns the file size."""
    from fontTools import subset
    from fontTools.ttLib import TTCollection, TTFont

    if source.suffix.lower() == ".ttc":
        names = [f["name"].getDebugName(1) for f in TTCollection(source, lazy=True).fonts]
        font = TTFont(source, fontNumber=names.index(SC_NAME), recalcTimestamp=False)
    else:
        font = TTFont(source, recalcTimestamp=False)  # same characters -> same bytes (no new timestamp)
    options = subset.Options()
    options.flavor = "woff2"
    options.hinting = False            # browsers hint CJK outlines themselves; saves a third of the size
    options.desubroutinize = True      # compresses better under WOFF2
    options.name_IDs = ["*"]           # keep the copyright and licence records (OFL condition 2)
    options.name_languages = ["*"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(ord(c) for c in chars))
    subsetter.subset(font)
    output.parent.mkdir(parents=True, exist_ok=True)
    subset.save_font(font, str(output), options)
    return output.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--font", type=Path, default=SYSTEM_FONT, help="Noto Sans CJK (.ttc or SC .otf)")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    chars = book_cjk_chars()
    size = make_subset(chars, args.font, args.output)
    missing = chars - font_chars(args.output)
    if missing:
        raise SystemExit(f"the font has no glyph for {''.join(sorted(missing))!r}")
    print(f"{len(chars)} characters -> {args.output.relative_to(ROOT)} ({size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
