"""The shipped CJK web font covers every Chinese character the book shows (tools/make_cjk_font.py).

The subset is made once by a developer from the system's Noto Sans CJK SC; these tests fail when a page,
notebook or docstring gains a character the committed subset lacks (re-run ``python tools/make_cjk_font.py``),
and when the CSS that loads the font no longer matches the script's ranges or file name.
"""
import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("make_cjk_font", ROOT / "tools" / "make_cjk_font.py")
make_cjk_font = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_cjk_font)


def test_the_book_has_chinese_to_cover():
    # the sources' titles are quoted on the landing page: if this fails, the scan found nothing at all
    chars = make_cjk_font.book_cjk_chars()
    assert set("学习率调整策略") <= chars
    assert len(chars) > 100


def test_every_cjk_character_in_the_book_is_in_the_shipped_subset():
    missing = make_cjk_font.book_cjk_chars() - make_cjk_font.font_chars(make_cjk_font.OUTPUT)
    assert not missing, (
        f"{len(missing)} CJK characters have no glyph in {make_cjk_font.OUTPUT.name}: "
        f"{''.join(sorted(missing))!r}; run `python tools/make_cjk_font.py`"
    )


def test_is_cjk_on_known_characters():
    assert all(make_cjk_font.is_cjk(c) for c in "梯状错误，。（）「」")
    assert not any(make_cjk_font.is_cjk(c) for c in "aZ0 η∇—“”é")


def test_css_loads_the_subset_for_exactly_the_script_ranges():
    css = (ROOT / "book" / "_static" / "cjk-font.css").read_text(encoding="utf-8")
    url = re.search(r'url\("([^"]+)"\)', css).group(1)
    assert (ROOT / "book" / "_static" / url).resolve() == make_cjk_font.OUTPUT
    assert re.search(r"unicode-range:\s*([^;]+);", css).group(1).strip() == make_cjk_font.unicode_range_css()


def test_the_font_licence_ships_beside_the_font():
    licence = (make_cjk_font.OUTPUT.parent / "OFL.txt").read_text(encoding="utf-8")
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence
