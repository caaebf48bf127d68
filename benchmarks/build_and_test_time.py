"""Build time, test time, site size and first-visit weight of the book (issue 20's budget).

What it measures, on this machine, from the repository root:

- ``build``: ``jupyter-book build . -W -n --keep-going`` from an empty ``_build`` (wall and CPU seconds);
- ``tests``: ``python -m pytest`` (wall and CPU seconds, pass/fail counts);
- ``site``: the size of ``_build/html`` and of its MathJax folder;
- ``first_visit``: for every chapter page, the bytes a browser with an empty cache fetches to show it -- the
  HTML, every stylesheet, script, image and icon it references directly, the fonts those stylesheets declare
  (first source of each ``@font-face``), and what MathJax fetches at run time on a page with math. MathJax's
  run-time fetches depend on the glyphs and macros on the page, so they are counted as an upper bound: all its
  CommonHTML woff fonts, plus the TeX extension files whose autoload macros the page's TeX source uses.
  Reported twice: uncompressed, and as transferred by a static host that gzips text files (``transfer_size``);
  the budget (<= 2 MB) is on the transfer, the bytes a reader's first visit actually downloads.

CPU seconds are the children's user + system time (``resource.RUSAGE_CHILDREN``: the processes and the
notebook kernels they waited for), reported beside wall time because the machine's cores may be shared.
Writes ``benchmarks/results/build_and_test.json``. Usage::

    python benchmarks/build_and_test_time.py            # build + site + first visit + tests
    python benchmarks/build_and_test_time.py --no-tests # skip the (slow) test run
    python benchmarks/build_and_test_time.py --no-build --no-tests --output _build/weight.json  # site only

It exits non-zero if the build or the tests fail, or if a chapter page references a file that the site does
not have or one from the network (math must render offline).

What it is not: a test. Its numbers are measurements to compare with the budget (build <= 60 s, tests
<= 10 min, site shrunk by >= 15 MB, first-visit transfer <= 2 MB), not assertions.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import re
import resource
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "_build" / "html"
RESULTS = ROOT / "benchmarks" / "results" / "build_and_test.json"
MB = 1e6

# The one autoloadable TeX package whose dependency is not already inside tex-chtml.js (MathJax 3.2's dependency
# map: cancel needs enclose; the others need only ams or newcommand, which the bundle contains).
EXTRA_DEPENDENCY = {"cancel": "enclose"}


def autoload_map(mathjax_dir: Path) -> dict[str, set[str]]:
    """Package -> the macro and environment names whose first use makes MathJax fetch it, read from the
    shipped ``input/tex/extensions/autoload.js`` (its ``autoload: expandable({...})`` default option)."""
    text = (mathjax_dir / "input" / "tex" / "extensions" / "autoload.js").read_text()
    body = re.search(r"autoload:\(0,\w+\.expandable\)\(\{(.*?)\}\)", text).group(1)
    entries = re.findall(r"(\w+):(\[\[.*?\]\]|\[[^\[\]]*\])", body)
    return {name: set(re.findall(r'"(\w+)"', entry)) for name, entry in entries}


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str]) -> dict:
    """Run ``cmd`` from the repository root; return wall and CPU seconds, exit code and pytest's summary line."""
    cpu0, t0 = _cpu_children(), time.perf_counter()
    proc = subprocess.run(cmd, check=False, cwd=ROOT, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - t0, _cpu_children() - cpu0
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    shown = " ".join("python" if part == sys.executable else part for part in cmd)
    result = {"command": shown, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "returncode": proc.returncode}
    summary = [line for line in lines if re.match(r"^=*\s*\d+ (passed|failed)", line)]
    if summary:  # pytest's closing line
        result["summary"] = summary[-1].strip("= ")
    if proc.returncode:
        result["tail"] = lines[-20:]
    return result


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


class _Refs(HTMLParser):
    """Collect what a browser fetches on load: stylesheets, preloads, icons, scripts, images."""

    def __init__(self):
        super().__init__()
        self.refs: list[str] = []
        self.has_math = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        rel = (a.get("rel") or "").lower().split()
        if tag == "link" and {"stylesheet", "preload", "modulepreload", "icon"} & set(rel) and a.get("href"):
            self.refs.append(a["href"])
        elif tag in ("script", "img") and a.get("src"):
            self.refs.append(a["src"])
        if "math" in (a.get("class") or "").split():
            self.has_math = True


def _local(base: Path, url: str) -> Path | None:
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path:
        return None
    return (base.parent / unquote(parts.path)).resolve()


def _css_fetches(css: Path, seen: set[Path]) -> list[Path]:
    """Files a stylesheet makes the browser fetch: @import-ed sheets, the first source of each @font-face."""
    text = css.read_text(errors="replace")
    out = []
    for block in re.findall(r"@font-face\s*{([^}]*)}", text):
        first = re.search(r"url\(\s*['\"]?([^'\")]+)", block)
        if first:
            out.append(_local(css, first.group(1)))
    for url in re.findall(r"@import\s+(?:url\()?['\"]?([^'\")\s;]+)", text):
        path = _local(css, url)
        if path and path.is_file() and path not in seen:
            seen.add(path)
            out += [path, *_css_fetches(path, seen)]
    return [p for p in out if p is not None]


COMPRESSIBLE = {".html", ".css", ".js", ".json", ".svg", ".txt", ".map"}


def transfer_size(path: Path) -> int:
    """Bytes on the wire from a static host that gzips text (as GitHub Pages, Netlify and Read the Docs do):
    text files gzip-compressed at level 6, images and fonts (already compressed) as they are."""
    data = path.read_bytes()
    return len(gzip.compress(data, compresslevel=6, mtime=0)) if path.suffix in COMPRESSIBLE else len(data)


def first_visit(page: Path) -> dict:
    """Bytes a first visit of ``page`` fetches (see the module docstring), with MathJax's share."""
    parser = _Refs()
    html = page.read_text(errors="replace")
    parser.feed(html)
    files, missing, external = {page.resolve()}, [], []
    for url in parser.refs:
        path = _local(page, url)
        if path is None:
            external.append(url)
        elif not path.is_file():
            missing.append(url)
        else:
            files.add(path)
            if path.suffix == ".css":
                files.update(p for p in _css_fetches(path, set()) if p.is_file())
    mathjax_dir = SITE / "_static" / "mathjax"
    lazy: set[Path] = set()
    if parser.has_math and (mathjax_dir / "tex-chtml.js").resolve() in files:
        lazy.update((mathjax_dir / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))
        used = set(re.findall(r"\\([A-Za-z]+)", html)) | set(re.findall(r"\\begin\{(\w+)\}", html))
        packages = {name for name, names in autoload_map(mathjax_dir).items() if used & names}
        packages |= set(re.findall(r"\\require\{(\w+)\}", html))
        packages |= {EXTRA_DEPENDENCY[p] for p in packages if p in EXTRA_DEPENDENCY}
        lazy.update(mathjax_dir / "input" / "tex" / "extensions" / f"{p}.js" for p in packages)
        missing += [str(p.relative_to(SITE)) for p in lazy if not p.is_file()]
        lazy = {p.resolve() for p in lazy if p.is_file()}
    fetched = files | lazy
    total = sum(p.stat().st_size for p in fetched)
    mathjax = [p for p in fetched if mathjax_dir.resolve() in p.parents]
    return {"page": str(page.relative_to(SITE)), "bytes": total, "transfer_bytes": sum(map(transfer_size, fetched)),
            "mathjax_bytes": sum(p.stat().st_size for p in mathjax),
            "mathjax_transfer_bytes": sum(map(transfer_size, mathjax)),
            "files": len(files | lazy), "missing": missing, "external": external}


def site_report() -> dict:
    chapters = sorted((SITE / "book").rglob("*.html"))
    visits = [first_visit(p) for p in chapters]
    def stats(key: str) -> dict:
        worst = max(visits, key=lambda v: v[key])
        return {"max_mb": round(worst[key] / MB, 2), "max_page": worst["page"],
                "mean_mb": round(sum(v[key] for v in visits) / len(visits) / MB, 2)}

    return {
        "site_mb": round(dir_size(SITE) / MB, 2),
        "mathjax_mb": round(dir_size(SITE / "_static" / "mathjax") / MB, 2),
        "chapters": len(visits),
        "first_visit_gzip_transfer": stats("transfer_bytes"),
        "first_visit_uncompressed": stats("bytes"),
        "pages_with_missing_files": [v for v in visits if v["missing"]],
        "pages_with_external_files": [v["page"] for v in visits if v["external"]],
        "pages": visits,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-tests", action="store_true", help="skip python -m pytest")
    parser.add_argument("--no-build", action="store_true", help="measure the existing _build/html")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON file to write (default {RESULTS})")
    args = parser.parse_args()
    result = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}}
    if not args.no_build:
        subprocess.run(["rm", "-rf", str(ROOT / "_build")], check=True)
        result["build"] = timed(["jupyter-book", "build", ".", "-W", "-n", "--keep-going"])
    result["site"] = site_report()
    if not args.no_tests:
        result["tests"] = timed([sys.executable, "-m", "pytest", "-q"])
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    summary = {k: v for k, v in result["site"].items() if k not in ("pages",)}
    print(json.dumps({**{k: result[k] for k in ("build", "tests") if k in result}, "site": summary}, indent=2))
    site = result["site"]
    if site["pages_with_missing_files"] or site["pages_with_external_files"]:
        sys.exit("a page references a file the site does not have, or one from the network: see above")
    if any(result.get(k, {}).get("returncode") for k in ("build", "tests")):
        sys.exit("the build or the tests failed: see above")


if __name__ == "__main__":
    main()
