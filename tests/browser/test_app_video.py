"""The transcript editor end to end in the browser: load the short sample, delete words, render,
and check that the produced video (probed in the work folder) is as long as the edit."""
import re
import subprocess
from pathlib import Path

from conftest import wait_for_status

from padl_lib.video.espeak import synthesize
from padl_lib.video.media import probe

FRAME = 1 / 30  # the screencast's frame duration


def seconds(text: str) -> float:
    return float(re.search(r"(\d+\.\d+)", text).group(1))


def test_edit_text_and_render(open_app):
    page = open_app("19_app_transcript_editor.ipynb")
    page.locator(".padl-load").click()  # the short real screencast is the default choice
    wait_for_status(page, "Transcript ready")
    words = page.locator(".padl-transcript .padl-word")
    assert words.count() > 3
    # a lecture's thousands of words scroll inside a box of their own
    box = page.evaluate("() => { const s = getComputedStyle(document.querySelector('.padl-transcript'));"
                        " return [s.maxHeight, s.overflowY]; }")
    assert box == ["220px", "auto"], box
    original = seconds(page.locator(".padl-edit-summary").inner_text().split(" of ")[1])
    # a click on a word seeks the source player to it, also a second click on the same word
    source_time = "() => document.querySelectorAll('video.padl-media')[0].currentTime"
    words.nth(2).click()
    page.wait_for_function(f"() => ({source_time})() > 0.3")
    clicked_at = page.evaluate(source_time)
    page.evaluate("() => { document.querySelectorAll('video.padl-media')[0].currentTime = 6.0; }")
    page.wait_for_function(f"() => ({source_time})() > 5.9")
    words.nth(2).click()
    page.wait_for_function(f"() => Math.abs(({source_time})() - {clicked_at}) < 0.05")

    box = page.locator(".padl-edit-text textarea")
    text = box.input_value()
    kept = [t for t in re.findall(r"\[pause [\d.]+s\]|\S+", text) if not t.startswith("[")]
    deleted = kept[-3:-1]  # two words before the last one
    edited = text.replace(" ".join(deleted), "", 1) if " ".join(deleted) in text else text.replace(deleted[0], "", 1)
    box.fill(edited)
    page.locator(".padl-apply-edit").click()
    wait_for_status(page, "Edit applied")
    edit_seconds = seconds(page.locator(".padl-edit-seconds").inner_text())
    assert edit_seconds < original - 0.2
    assert page.locator(".padl-transcript .padl-cut").count() >= 1  # struck-through words

    page.locator(".padl-render").click()
    status = wait_for_status(page, "Rendered")
    output = Path(status.split(" to ", 1)[1].strip())
    assert abs(seconds(status) - edit_seconds) <= FRAME
    assert abs(probe(output).duration - edit_seconds) <= FRAME
    assert page.locator(".padl-download").inner_text().startswith("Download")
    # the browser decodes the rendered (smart-rendered) video
    page.wait_for_function("() => { const v = document.querySelectorAll('video.padl-media')[1];"
                           " return v && v.readyState >= 2 && !v.error; }")
    played = page.evaluate("() => document.querySelectorAll('video.padl-media')[1].duration")
    assert abs(played - edit_seconds) <= 2 * FRAME
    # both players and the download fetch their files from padl's media server, not through the kernel
    sources = page.evaluate("() => [...document.querySelectorAll('video.padl-media')].map(v => v.src)"
                            " .concat([document.querySelector('.padl-download').href])")
    assert all("/padl/media/" in src for src in sources), sources


def test_without_the_media_server_the_files_stream_through_the_kernel(open_app, page):
    """Another Jupyter server (without padl's extension) answers 404 for the media address."""
    page.route("**/padl/media/**", lambda route: route.fulfill(status=404))
    page = open_app("19_app_transcript_editor.ipynb")
    page.locator(".padl-load").click()
    wait_for_status(page, "Transcript ready")
    page.wait_for_function("() => { const v = document.querySelectorAll('video.padl-media')[0];"
                           " return v && v.readyState >= 1 && !v.error; }")
    assert page.evaluate("() => document.querySelectorAll('video.padl-media')[0].src").startswith("blob:")


def test_a_recording_over_the_websocket_message_limit_uploads_in_chunks(open_app, tmp_path):
    """Jupyter refuses websocket messages over 10 MiB; a lecture video is larger than that."""
    speech = synthesize("Welcome to the lecture. Today we look at binary neural networks.").write(tmp_path / "s.wav")
    video = tmp_path / "my lecture.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-i", str(speech),
                    "-t", "8", "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "14M", "-c:a", "aac", str(video)],
                   check=True)
    assert video.stat().st_size > 10 * 2**20
    page = open_app("19_app_transcript_editor.ipynb")
    with page.expect_file_chooser() as chooser:
        page.locator(".padl-upload").click()
    chooser.value.set_files(str(video))
    wait_for_status(page, "Uploaded my_lecture.mp4")
    assert page.locator(".padl-upload").inner_text() == "my_lecture.mp4 ✓"
    page.locator(".padl-load").click()
    status = wait_for_status(page, "Transcript ready")
    assert "of my_lecture.mp4" in status
    page.wait_for_function("() => { const v = document.querySelectorAll('video.padl-media')[0];"
                           " return v && v.readyState >= 1 && !v.error; }")
    assert abs(page.evaluate("() => document.querySelectorAll('video.padl-media')[0].duration") - 8.0) < 0.1
    assert "lecture" in page.locator(".padl-edit-text textarea").input_value().lower()


def test_loading_another_lecture_clears_the_last_render(open_app, tmp_path):
    """The edited player and the download link went on offering the lecture loaded before's render."""
    speech = synthesize("Binary networks keep one bit per weight.").write(tmp_path / "second lecture.wav")
    page = open_app("19_app_transcript_editor.ipynb")
    page.locator(".padl-load").click()
    wait_for_status(page, "Transcript ready")
    page.locator(".padl-render").click()
    wait_for_status(page, "Rendered")
    page.wait_for_function("() => document.querySelector('.padl-download').innerText.startsWith('Download')")
    page.wait_for_function("() => document.querySelectorAll('video.padl-media')[1].readyState >= 1")
    with page.expect_file_chooser() as chooser:
        page.locator(".padl-upload").click()
    chooser.value.set_files(str(speech))
    wait_for_status(page, "Uploaded second_lecture.wav")
    page.locator(".padl-load").click()
    wait_for_status(page, "Transcript ready")
    page.wait_for_function("() => document.querySelector('.padl-download').innerText === ''"
                           " && !document.querySelector('.padl-download').hasAttribute('href')")
    assert page.evaluate("() => document.querySelectorAll('video.padl-media')[1].hasAttribute('src')") is False


def test_the_transcript_underlines_what_one_click_removal_would_cut(page):
    """The transcript view's own script, with a stand-in for its widget model: fillers, false
    starts and words said again are underlined while they are kept, and only then."""
    from padl_lib.video.app import TranscriptView

    page.set_content("<div id='view'></div>")
    page.evaluate("""async ([esm, tokens]) => {
        const url = URL.createObjectURL(new Blob([esm], {type: "text/javascript"}));
        const view = (await import(url)).default;
        const state = {tokens, kept: [0, 1, 3, 4, 5, 6], disfluent: [1, 2], repeated: [4, 7], selected: -1,
                       current: -1};
        const model = {get: (key) => state[key], on: () => {}, set: (key, value) => { state[key] = value; },
                       save_changes: () => {}, send: () => {}};
        view.render({model, el: document.getElementById("view")});
    }""", [TranscriptView._esm, ["He", "mi-", "um", "he", "the", "the", "end", "end"]])
    underlined = page.eval_on_selector_all(".padl-disfluent", "spans => spans.map(s => s.textContent)")
    assert underlined == ["mi-"]  # "um" is cut already: struck through instead
    assert page.eval_on_selector(".padl-disfluent", "s => s.style.borderBottomStyle") == "dotted"
    repeated = page.eval_on_selector_all(".padl-repeated", "spans => spans.map(s => s.dataset.index)")
    assert repeated == ["4"]  # the first "the"; the second "end" is cut
    assert "Remove repeats" in page.eval_on_selector(".padl-repeated", "s => s.title")
