"""List the display equations of the built site that are wider than a 375-px phone screen.

A developer tool (not a test: many equations are still too wide). Run after a build:
``python tools/wide_equations.py``. Each line gives the page, the rendered width in CSS pixels (and the width
available to it at a 375-px viewport) and the TeX. Break the long ones with ``\\`` in an aligned environment.
Needs Playwright and the system Chromium, like tests_site/.
"""
from pathlib import Path
import sys
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tests_site'))

from playwright.sync_api import sync_playwright
SITE = ROOT / '_build' / 'html'
import test_site
pages = test_site._nav_pages(SITE)
JS = """
async () => {
  await MathJax.startup.promise;
  const out = [];
  for (const item of MathJax.startup.document.math) {
    if (!item.display) continue;
    const node = item.typesetRoot; const m = node.querySelector('mjx-math');
    const w = m.getBoundingClientRect().width; const avail = node.parentElement.clientWidth;
    out.push({tex: item.math, width: Math.round(w), avail: avail});
  }
  return out;
}
"""
with sync_playwright() as p:
    b = p.chromium.launch(executable_path='/usr/bin/chromium', args=['--headless','--no-sandbox','--disable-gpu'])
    page = b.new_page(viewport={'width': 375, 'height': 800})
    res = {}
    for rel in pages:
        page.goto((SITE/rel).as_uri(), wait_until='load')
        try:
            items = page.evaluate(JS)
        except Exception as e:
            continue
        wide = [i for i in items if i['width'] > 375 or i['width'] > i['avail']]
        if wide: res[rel] = wide
    b.close()
for rel, items in res.items():
    print('##', rel)
    for i in items: print(f"  {i['width']}px (avail {i['avail']}): {' '.join(i['tex'].split())[:160]}")
