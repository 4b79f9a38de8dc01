"""The handwriting style picker, driven like a person: write two words on the canvas with the
mouse, type a text and see it written in that hand; then pick an unseen font writer, adapt the
recognizer and read its before/after readings."""
import re

from conftest import wait_for_status


def _draw_word(page, strokes: list[list[tuple[float, float]]]) -> None:
    box = page.locator("canvas.padl-hw-canvas, .padl-hw-canvas canvas").first.bounding_box()
    for stroke in strokes:
        x0, y0 = stroke[0]
        page.mouse.move(box["x"] + x0, box["y"] + y0)
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y, steps=4)
        page.mouse.up()


def _add_drawn(page, strokes, word: str) -> str:
    _draw_word(page, strokes)
    page.wait_for_timeout(500)  # let the canvas send its pixels to the kernel
    page.locator(".padl-hw-canvas-label input").fill(word)
    page.locator("button.padl-hw-canvas-add").click()
    return wait_for_status(page, f"Added the drawn word '{word}'")


def test_draw_write_and_adapt(open_app):
    page = open_app("39_app_style_picker.ipynb")
    # "hi": a vertical stroke with an arch, then a short stroke and a dot
    hi = [[(40, 20), (40, 90)], [(40, 60), (55, 45), (70, 50), (72, 90)], [(95, 50), (95, 90)], [(95, 30), (96, 33)]]
    assert "1 sample" in _add_drawn(page, hi, "hi")
    # "no": an n then an o
    no = [[(40, 50), (40, 90)], [(40, 60), (55, 48), (68, 55), (70, 90)],
          [(110, 50), (95, 55), (92, 75), (105, 90), (120, 80), (122, 60), (110, 50)]]
    assert "2 sample" in _add_drawn(page, no, "no")
    assert page.locator(".padl-hw-samples img").count() == 2

    page.locator(".padl-hw-text input").fill("hello world")
    page.locator("button.padl-hw-write").click()
    status = wait_for_status(page, "Wrote 2 word(s) in the style of 2 samples")
    assert page.locator(".padl-hw-generated img").count() == 2
    assert re.search(r"synthesized: .*\bw\b", status)  # "hi" and "no" show no w: it comes from the synthesis path

    page.locator(".padl-hw-writer select").select_option(label="kristi (unseen)")
    page.locator(".padl-hw-samples").filter(has_text="15 samples").wait_for()
    page.locator("button.padl-hw-adapt").click()
    status = wait_for_status(page, "Adapted:")
    before, after = map(int, re.search(r"(\d+) of \d+ words read right before, (\d+) after", status).groups())
    rows = page.locator(".padl-hw-readings tr")
    assert rows.count() == 7  # header + 6 test words with truth, before and after readings
    assert rows.nth(1).locator("td").count() == 4 and rows.nth(1).locator("img").count() == 1
    assert 0 <= before <= 6 and 0 <= after <= 6
