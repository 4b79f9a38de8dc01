"""Time the transcript editor's word view (`padl_lib.video.app.TranscriptView`) in Chromium.

    python tools/transcript_view_bench.py [WORDS]     # default 13000, a 90-minute lecture

The view's JavaScript runs against a stand-in for the widget model: the first drawing of WORDS
words (every fifth struck through), then 40 changes of the word being played (what playback
sends, a few per second) and 10 clicks. Prints milliseconds of main-thread work per step.
"""
from __future__ import annotations

import json
import sys

from playwright.sync_api import sync_playwright

from padl_lib.video.app import TranscriptView

CHROMIUM = "/usr/bin/chromium"  # Debian's, as the browser tests use
MEASURE = """
async ([esm, n]) => {
  const url = URL.createObjectURL(new Blob([esm], {type: "text/javascript"}));
  const view = (await import(url)).default;
  const state = {tokens: Array.from({length: n}, (_, i) => i % 17 === 0 ? "[pause 0.4s]" : "word" + i),
                 kept: Array.from({length: n}, (_, i) => i).filter(i => i % 5), selected: -1, current: -1};
  const handlers = {};
  const model = {get: k => state[k], save_changes: () => {},
                 set: (k, v) => { state[k] = v; (handlers["change:" + k] || []).forEach(f => f()); },
                 on: (event, f) => { (handlers[event] = handlers[event] || []).push(f); }};
  const el = document.body.appendChild(document.createElement("div"));
  const timed = (steps, step) => {
    const t0 = performance.now();
    for (let k = 0; k < steps; k++) { step(k); el.offsetHeight; }  // offsetHeight: include layout
    return (performance.now() - t0) / steps;
  };
  return {draw_ms: timed(1, () => view.render({model, el})),
          playing_word_ms: timed(40, k => model.set("current", (100 + 300 * k) % n)),
          click_ms: timed(10, k => model.set("selected", (50 + 1000 * k) % n)),
          words: el.querySelectorAll(".padl-word").length, struck: el.querySelectorAll(".padl-cut").length};
}
"""


def main(words: int = 13_000) -> dict:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        result = page.evaluate(MEASURE, [TranscriptView._esm, words])
        browser.close()
    return result


if __name__ == "__main__":
    print(json.dumps(main(*(int(a) for a in sys.argv[1:])), indent=1))
