"""The page in a real browser: Debian's Chromium, headless, driven by Playwright.

Starts ``python -m jazzgen.serve`` on a free loopback port, types a chart, presses
Generate and checks what a person would see: audio that can play, a piano roll with
notes and a playhead that moves with the audio, download links, the take listed, a
bad chord shown beside the chart.  The browser is the system one (``apt-get install
chromium``, see .ci/run); Playwright never downloads one.  A missing browser fails
this test: it does not skip.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WAIT_MS = 120_000    # a guard against hanging on a loaded machine, not a speed claim


@pytest.fixture
def browser():
    assert CHROMIUM.is_file(), f"{CHROMIUM} is missing: apt-get update && apt-get install -y chromium"
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def coloured_pixels(page, rgb) -> int:
    """How many pixels of the piano roll are (close to) the colour `rgb`."""
    return page.evaluate("""([r, g, b]) => {
        const c = document.getElementById('roll'), d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4)
            if (Math.abs(d[i] - r) < 8 && Math.abs(d[i + 1] - g) < 8 && Math.abs(d[i + 2] - b) < 8) n++;
        return n; }""", list(rgb))


@pytest.mark.slow
def test_generate_play_and_download_in_chromium(served, browser, tmp_path, capsys):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("console",
            lambda m: problems.append(m.text) if m.type == "error" and "status of 400" not in m.text else None)
    page.on("response",
            lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 and r.status != 400 else None)
    page.goto(served)
    page.wait_for_function("document.body.dataset.ready === '1'", timeout=WAIT_MS)

    page.fill("#chart", "Dm7 G7 | Cmaj7 |")
    page.click("#generate")
    page.wait_for_function("document.getElementById('player').readyState >= 3", timeout=WAIT_MS)
    page.wait_for_function("Number(document.getElementById('roll').dataset.notes) > 0", timeout=WAIT_MS)
    assert coloured_pixels(page, (0x2B, 0x6C, 0xB0)) > 500           # the solo's notes are drawn
    page.wait_for_function("document.getElementById('notation').dataset.take !== ''", timeout=WAIT_MS)
    xml = page.request.get(served.rstrip("/") + page.get_attribute("#dl-musicxml", "href")).text()
    shown = page.evaluate("document.querySelectorAll('#notation svg g.note').length")
    assert shown == xml.count("<pitch>") > 0                          # the notation shows every note
    bars = page.evaluate("document.querySelectorAll('#notation svg g.measure').length")
    assert bars == xml.count("<measure ") and page.evaluate(
        "document.querySelectorAll('#notation svg g.harm').length") > 0   # bars, with the chords
    assert page.evaluate("document.getElementById('player').duration") >= 30

    links = {f: page.get_attribute(f"#dl-{f}", "href") for f in ("mid", "wav", "musicxml")}
    take_id = re.fullmatch(r"/api/takes/([0-9a-f]{16})/mid", links["mid"]).group(1)
    assert links == {f: f"/api/takes/{take_id}/{f}" for f in links}
    for f, kind in (("mid", "audio/midi"), ("wav", "audio/wav"), ("musicxml", "musicxml")):
        r = page.request.get(served.rstrip("/") + links[f])
        assert r.status == 200 and kind in r.headers["content-type"], f
    with page.expect_download() as dl:
        page.click("#dl-mid")
    assert re.fullmatch(r"solo-\d+-[0-9a-f]{6}\.mid", dl.value.suggested_filename)

    page.evaluate("document.getElementById('player').pause(); document.getElementById('player').currentTime = 6")
    page.wait_for_function("document.getElementById('playhead').style.transform === 'translateX(288px)'",
                           timeout=WAIT_MS)                               # 6 s at 48 px a second
    bar_at_6s = page.evaluate("current.roll.bars.filter((t) => t <= 6).length - 1")
    page.wait_for_function(f"document.querySelectorAll('#notation g.measure')[{bar_at_6s}]"
                           ".classList.contains('playing')", timeout=WAIT_MS)   # the bar heard, lit
    assert page.inner_text("#takes").count("solo-") == 1

    name = page.inner_text("#take-name")
    page.fill("#chart", "Dm7 G7 | Xz9 |")
    page.click("#generate")
    page.wait_for_function("document.getElementById('chart-error').textContent.includes('bar 2')", timeout=WAIT_MS)
    assert "Xz9" in page.inner_text("#chart-error")
    assert page.inner_text("#take-name") == name and page.inner_text("#takes").count("solo-") == 1

    page.fill("#chart", "Dm7 G7 | Cmaj7 |")
    page.click("#generate")
    page.wait_for_function("document.querySelectorAll('#takes li').length == 2", timeout=WAIT_MS)
    assert page.inner_text("#chart-error") == ""
    page.wait_for_function("document.getElementById('player').readyState >= 3", timeout=WAIT_MS)
    page.evaluate("document.getElementById('player').pause(); document.getElementById('player').currentTime = 3")
    shot = tmp_path / "jazzgen-serve.png"
    page.screenshot(path=str(shot), full_page=True)
    with capsys.disabled():
        print(f"\nscreenshot of the page: {shot}")
    assert not problems, problems

    other = browser.new_page()                                            # a reload keeps the session's takes
    other.goto(served)
    other.wait_for_function("document.querySelectorAll('#takes li').length == 2", timeout=WAIT_MS)
    other.click("#takes li:last-child button")
    other.wait_for_function("document.getElementById('player').readyState >= 3", timeout=WAIT_MS)
    assert other.inner_text("#take-name").startswith(name.split(" ")[0])  # the first take, replayed


@pytest.mark.slow
def test_a_chart_file_opened_on_the_page(served, browser):
    """A playlist opened with the file control and a tune picked by title: the take is over that
    tune, at its own tempo (the tempo box is emptied); a compressed MusicXML file too. The file is
    picked as soon as the page has loaded, while its lists are still being fetched: it is not lost."""
    charts = Path(__file__).parent / "data" / "charts"
    page = browser.new_page()
    page.goto(served)
    page.set_input_files("#chart-file", str(charts / "jazzgen-tests.html"))
    page.wait_for_function("document.getElementById('bpm').value === ''", timeout=WAIT_MS)
    page.wait_for_function("document.body.dataset.ready === '1'", timeout=WAIT_MS)
    page.fill("#tune", "test blues")
    page.fill("#seconds", "4")
    page.click("#generate")
    page.wait_for_function("document.querySelectorAll('#takes li').length >= 1", timeout=WAIT_MS)
    assert "Jazzgen Test Blues · 140 bpm" in page.inner_text("#takes li:first-child")
    page.set_input_files("#chart-file", str(charts / "Joshua_Fit_the_Battle_of_Jericho.mxl"))
    page.fill("#tune", "")
    page.click("#generate")
    page.wait_for_function("document.querySelectorAll('#takes li').length >= 2", timeout=WAIT_MS)
    assert "Joshua Fit The Battle Of Jericho" in page.inner_text("#takes li:first-child")


# Every oscillator the page starts, with its pitch and start time: the audio graph that plays the answer.
RECORD_OSCILLATORS = """(() => {
    window.oscillatorStarts = [];
    const start = OscillatorNode.prototype.start;
    OscillatorNode.prototype.start = function (when) {
        window.oscillatorStarts.push({when: when || 0, hz: this.frequency.value, type: this.type});
        return start.apply(this, arguments);
    };
})();"""


@pytest.mark.slow
def test_trading_a_bar_at_300_bpm_in_chromium(served, browser):
    import io

    import mido
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.add_init_script(RECORD_OSCILLATORS)
    problems = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 500 else None)
    page.goto(served)
    page.wait_for_function("document.body.dataset.ready === '1'", timeout=WAIT_MS)
    page.select_option("#form", "blues")
    page.fill("#bpm", "400")                                              # more than trading offers
    page.click("#trade-start")
    page.wait_for_function("document.getElementById('trade-status').className === 'error'", timeout=WAIT_MS)
    assert "bpm must be in 40..320" in page.inner_text("#trade-status")

    page.fill("#bpm", "300")
    page.select_option("#trade-bars", "1")
    page.click("#trade-start")
    page.wait_for_function("jazzgenTrade.timer && jazzgenTrade.ctx.currentTime > jazzgenTrade.t0", timeout=WAIT_MS)
    for key in ("KeyA", "KeyD", "KeyG", "KeyJ"):                          # C E G B in the first bar (0.8 s)
        page.keyboard.down(key)
        page.wait_for_timeout(80)
        page.keyboard.up(key)
        page.wait_for_timeout(40)
    page.wait_for_function("jazzgenTrade.log.length >= 2", timeout=WAIT_MS)   # two answers, 2nd to silence
    fields = "{turn, due, ready, margin, sent, notes, late, error, answer, latency, server_ms, lead}"
    log = page.evaluate(f"jazzgenTrade.log.map(({fields}) => ({fields}))")
    t0 = page.evaluate("jazzgenTrade.t0")
    first = log[0]
    assert first["turn"] == 0 and first["due"] == pytest.approx(0.8) and first.get("error") is None
    assert first["sent"] >= 1 and first["notes"] >= 1
    for entry in log:
        assert entry["margin"] > 0, [(e["turn"], round(e["margin"], 3), round(e["latency"], 3), round(e["lead"], 3),
                                      e["server_ms"]) for e in log]      # the answer is ready before its bar
        assert entry["late"] == 0
    heard = page.evaluate("window.oscillatorStarts.filter((o) => o.type === 'sawtooth')")
    for entry in log:                                                      # each answer note is started...
        for on, _, pitch, _ in entry["answer"]:
            assert entry["due"] - 1e-6 <= on < entry["due"] + 0.8            # ...in the answer's bar
            assert any(abs(o["when"] - (t0 + on)) < 1e-3 and abs(o["hz"] - 440 * 2 ** ((pitch - 69) / 12)) < 0.01
                       for o in heard), (on, pitch)
    assert page.evaluate("jazzgenTrade.ctx.state") == "running"

    page.click("#trade-stop")
    page.wait_for_function("!document.getElementById('trade-save').hidden", timeout=WAIT_MS)
    r = page.request.get(served.rstrip("/") + page.get_attribute("#trade-save", "href"))
    assert r.status == 200
    midi = mido.MidiFile(file=io.BytesIO(r.body()))
    voices = {}
    for track in midi.tracks:
        sounding, count = set(), 0
        for m in track:
            if m.type == "note_on" and m.velocity > 0:
                sounding.add((m.channel, m.note))
                count += 1
            elif m.type in ("note_off", "note_on"):
                sounding.discard((m.channel, m.note))
        assert not sounding, track.name                                    # no hanging notes
        voices[track.name] = count
    assert voices.get("You", 0) >= 1 and sum(voices.values()) - voices["You"] >= first["notes"]
    assert not problems, problems
