// The jazzgen page: sends the form to /api/generate, plays the take and draws its piano roll.
// Plain browser JavaScript, no library and no build step, so the package serves it as it is.
"use strict";

const $ = (id) => document.getElementById(id);
const PX_PER_SEC = 48, LANE = 26, ROLL_H = 300;
const COLOURS = { solo: "#2b6cb0", bass: "#dd7a1f", piano: "#8fa89b" };
let current = null;          // the take shown (its JSON)
let upload = null;           // a chart file opened on the page, as a data: URL (sent whole, .mxl included)
const CHART_FILE = /irealb(ook)?:\/\/|^\s*[(<]/;   // pasted text that is a chart file, not typed changes

async function getJSON(url, options) {
  const r = await fetch(url, options);
  let body = null;
  try { body = await r.json(); } catch (e) { body = { error: `HTTP ${r.status}` }; }
  return { ok: r.ok, status: r.status, body };
}

async function init() {
  wire();         // the controls answer at once: a file picked while the lists load is not lost
  const forms = await getJSON("/api/forms");
  if (forms.ok) {
    for (const f of forms.body.forms) $("form").add(new Option(f, f));
    $("seconds").max = forms.body.max_seconds;
  }
  const models = await getJSON("/api/models");
  if (models.ok && models.body.models.length) {
    $("model").textContent = `model: ${models.body.models[0].name}`;
    for (const p of models.body.models[0].performers || []) $("like").add(new Option(p, p));
  }
  const takes = await getJSON("/api/takes");            // the server's session survives a reload
  if (takes.ok) for (const t of takes.body.takes.slice().reverse()) addToList(t);
  document.body.dataset.ready = "1";
}

function wire() {
  const showSwing = () => {
    $("swing").disabled = $("swing-auto").checked;
    $("swing-value").textContent = $("swing-auto").checked ? "auto" : $("swing").value;
  };
  $("swing").addEventListener("input", showSwing);
  $("swing-auto").addEventListener("change", showSwing);
  $("form").addEventListener("change", () => { $("chart").disabled = $("form").value !== ""; });
  $("chart-file").addEventListener("change", () => {
    const file = $("chart-file").files[0];
    upload = null;
    if (!file) return;
    const reader = new FileReader();
    reader.onload = () => { upload = reader.result; $("chart").value = ""; $("chart").placeholder = file.name; ownTempo(); };
    reader.readAsDataURL(file);
  });
  $("chart").addEventListener("input", () => {
    upload = null;
    $("chart-file").value = "";
    if (CHART_FILE.test($("chart").value)) ownTempo();
  });
  $("controls").addEventListener("submit", (e) => { e.preventDefault(); generate(); });
  $("roll").addEventListener("click", (e) => {
    const x = e.offsetX / PX_PER_SEC;
    if (current && isFinite(x)) { $("player").currentTime = x; $("player").play(); }
  });
  requestAnimationFrame(followAudio);
}

function ownTempo() {        // a chart file plays at its own tempo unless one is typed in
  $("bpm").value = "";
  $("bpm").placeholder = "the chart's";
}

function request() {
  const num = (id) => ($(id).value === "" ? null : Number($(id).value));
  const req = {
    bpm: num("bpm"), seconds: num("seconds"), swing: $("swing-auto").checked ? null : num("swing"), band: $("band").value,
    instrument: num("instrument"), temperature: num("temperature"), top_p: num("top_p"), seed: num("seed"),
  };
  if ($("min_p").value !== "") req.min_p = num("min_p");
  if ($("meter").value.trim()) req.meter = $("meter").value.trim();
  if ($("like").value) req.like = $("like").value;
  if ($("form").value) {
    req.form = $("form").value;
    if ($("key").value.trim()) req.key = $("key").value.trim();
  } else if (upload || CHART_FILE.test($("chart").value)) {
    req.chart = upload || $("chart").value;
    if ($("tune").value.trim()) req.tune = $("tune").value.trim();
  } else {
    req.chords = $("chart").value;
  }
  return req;
}

async function generate() {
  $("generate").disabled = true;
  $("status").className = "";
  $("status").textContent = "improvising…";
  try {
    const r = await getJSON("/api/generate", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(request()),
    });
    if (!r.ok) return showError(r.body);
    $("chart-error").textContent = "";
    $("status").textContent = `${r.body.name}: ${r.body.notes} notes in ${r.body.ms} ms`;
    addToList(r.body);
    show(r.body, true);
  } catch (e) {
    showError({ error: `no answer from the server (${e.message})` });
  } finally {
    $("generate").disabled = false;
  }
}

function showError(body) {
  // A chart mistake goes beside the chart; anything else beside the button. The take shown stays.
  const chartError = body.kind === "ChordError";
  $("chart-error").textContent = chartError ? body.error : "";
  $("status").className = chartError ? "" : "error";
  $("status").textContent = chartError ? "" : body.error;
}

function addToList(take) {
  const li = document.createElement("li");
  li.dataset.id = take.id;
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = take.name;
  b.addEventListener("click", () => replay(take.id));
  const meta = document.createElement("span");
  meta.className = "meta";
  meta.textContent = ` ${take.chart} · ${take.bpm} bpm · ${take.seconds} s · ${take.band} · T ${take.temperature}` +
    ` · top-p ${take.top_p} · min-p ${take.min_p} · seed ${take.seed}`;
  li.append(b, meta);
  $("takes").prepend(li);
}

async function replay(id) {
  const r = await getJSON(`/api/takes/${id}`);
  if (!r.ok) return showError(r.body);
  show(r.body, true);
}

function show(take, autoplay) {
  current = take;
  $("take").hidden = false;
  $("take-name").textContent = `${take.name} — ${take.chart}, ${take.bpm} bpm, ${take.seconds} s`;
  for (const f of ["mid", "wav", "musicxml"]) {
    $(`dl-${f}`).href = take.files[f];
    $(`dl-${f}`).download = `${take.name}.${f}`;
  }
  const player = $("player");
  player.src = take.files.wav;
  player.load();
  if (autoplay) player.play().catch(() => {});   // a browser may refuse to play before a click
  for (const li of $("takes").children) li.classList.toggle("current", li.dataset.id === take.id);
  drawRoll(take.roll);
  showNotation(take);
}

async function showNotation(take) {
  // The lead sheet, engraved by the server (Verovio), its bars in order as <g class="measure">.
  const box = $("notation");
  box.className = "";
  box.textContent = "engraving…";
  box.dataset.take = "";
  const r = await fetch(take.files.svg);
  if (current !== take) return;                          // another take was picked meanwhile
  if (!r.ok) {
    box.className = "error";
    box.textContent = `no notation: HTTP ${r.status}`;
    return;
  }
  const svg = new DOMParser().parseFromString(await r.text(), "image/svg+xml").documentElement;
  box.replaceChildren(document.importNode(svg, true));
  const measures = box.querySelectorAll("g.measure");
  measures.forEach((m, i) => m.addEventListener("click", () => {
    const t = take.roll.bars[i];
    if (t !== undefined) { $("player").currentTime = t; $("player").play(); }
  }));
  box.dataset.notes = String(box.querySelectorAll("g.note").length);
  box.dataset.take = take.id;
  playingBar = -1;
}

let playingBar = -1;

function followBar(time) {
  // The bar heard, lit in the notation and kept in view.
  const bars = current.roll.bars;
  let i = bars.length - 1;
  while (i > 0 && bars[i] > time + 1e-3) i--;
  if (i === playingBar) return;
  const measures = $("notation").querySelectorAll("g.measure");
  if (!measures.length) return;
  if (measures[playingBar]) measures[playingBar].classList.remove("playing");
  playingBar = i;
  const m = measures[i];
  if (!m) return;
  m.classList.add("playing");
  const box = $("notation"), top = m.getBoundingClientRect().top - box.getBoundingClientRect().top;
  if (top < 0 || top > box.clientHeight - 80) box.scrollTop += top - 20;
}

function drawRoll(roll) {
  const canvas = $("roll"), dpr = window.devicePixelRatio || 1;
  const width = Math.ceil(roll.length * PX_PER_SEC) + 40, height = LANE + ROLL_H;
  canvas.width = width * dpr;
  canvas.height = height * dpr;
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const g = canvas.getContext("2d");
  g.scale(dpr, dpr);
  g.fillStyle = "#fff";
  g.fillRect(0, 0, width, height);
  const pitches = roll.tracks.flatMap((t) => t.notes.map((n) => n[2]));
  const lo = pitches.length ? Math.min(...pitches) - 2 : 48, hi = pitches.length ? Math.max(...pitches) + 2 : 84;
  const rowH = ROLL_H / (hi - lo + 1);
  const y = (p) => LANE + (hi - p) * rowH;
  g.font = "12px system-ui, sans-serif";
  roll.bars.forEach((t, i) => {                            // bar lines, every 4th darker, bar numbers
    g.fillStyle = i % 4 === 0 ? "#888" : "#ddd";
    g.fillRect(Math.round(t * PX_PER_SEC), LANE, 1, ROLL_H);
    g.fillStyle = "#999";
    g.fillText(String(i + 1), t * PX_PER_SEC + 3, height - 4);
  });
  g.fillStyle = "#f3f1ea";
  g.fillRect(0, 0, width, LANE);
  g.fillStyle = "#222";
  g.font = "600 13px system-ui, sans-serif";
  roll.chords.forEach(([t, symbol], i) => {             // each symbol kept to the room before the next
    const next = i + 1 < roll.chords.length ? roll.chords[i + 1][0] : roll.length;
    g.fillText(symbol, t * PX_PER_SEC + 3, LANE - 8, Math.max(8, (next - t) * PX_PER_SEC - 5));
  });
  let drawn = 0;
  for (const name of ["piano", "bass", "solo"]) {        // the solo on top
    const track = roll.tracks.find((t) => t.name === name);
    if (!track) continue;
    g.fillStyle = COLOURS[name];
    for (const [on, off, p] of track.notes) {
      g.fillRect(on * PX_PER_SEC, y(p) + 0.5, Math.max(1, (off - on) * PX_PER_SEC - 1), Math.max(2, rowH - 1));
      drawn++;
    }
  }
  canvas.dataset.notes = String(drawn);
  $("playhead").style.transform = "translateX(0px)";
}

function followAudio() {
  // The playhead is at the audio's own clock, so it matches what is heard, pauses and seeks included.
  const player = $("player"), box = $("roll-box");
  if (current) {
    const x = player.currentTime * PX_PER_SEC;
    $("playhead").style.transform = `translateX(${x}px)`;
    followBar(player.currentTime);
    if (!player.paused && (x < box.scrollLeft || x > box.scrollLeft + box.clientWidth - 60)) {
      box.scrollLeft = Math.max(0, x - 60);
    }
  }
  requestAnimationFrame(followAudio);
}

init();
