// Trading on the page: the band loops the chart, the player plays N bars (a MIDI keyboard or the
// computer keys), jazzgen answers the next N bars, and so on until Stop.  Everything runs on the
// Web Audio clock: the band is one looping buffer started at t0, the answer's notes are
// oscillators started at t0 + their session second, and a key press is stamped with the
// context time of the audio being heard.  The answer is asked for `lead` seconds before the bar
// line (see jazzgen/generation/trade.py for why); the lead follows the latencies measured.
"use strict";

const KEYS = ["KeyA", "KeyW", "KeyS", "KeyE", "KeyD", "KeyF", "KeyT", "KeyG", "KeyY", "KeyH", "KeyU",
  "KeyJ", "KeyK", "KeyO", "KeyL", "KeyP", "Semicolon"];          // C4 .. E5, as on a piano's keys
const trade = {
  s: null, ctx: null, master: null, band: null, t0: 0, timer: null, octave: 0,
  notes: new Map(),      // id -> [id, on, off, pitch, velocity], session seconds
  sent: new Map(),       // id -> the JSON last sent for it
  held: new Map(),       // key or MIDI note -> note id
  voices: new Map(),     // note id -> the player's sounding voice
  asked: new Set(), log: [], scheduled: [], lead: 0.1, nextId: 1,
};
window.jazzgenTrade = trade;                                    // for the browser test

function hz(pitch) { return 440 * Math.pow(2, (pitch - 69) / 12); }

function heard() {
  // Session seconds of the audio the player hears now (output latency taken off).
  const ctx = trade.ctx, ts = ctx.getOutputTimestamp ? ctx.getOutputTimestamp() : null;
  const t = ts && ts.contextTime > 0 ? ts.contextTime : ctx.currentTime - (ctx.outputLatency || 0);
  return t - trade.t0;
}

function voice(pitch, velocity, when, wave) {
  // One synth voice: an oscillator through a low-pass and an envelope into the master gain.
  const ctx = trade.ctx, osc = ctx.createOscillator(), filter = ctx.createBiquadFilter(), env = ctx.createGain();
  osc.type = wave;
  osc.frequency.value = hz(pitch);
  filter.frequency.value = Math.min(8000, hz(pitch) * 6);
  const peak = 0.05 + 0.25 * velocity / 127;
  env.gain.setValueAtTime(0, when);
  env.gain.linearRampToValueAtTime(peak, when + 0.01);
  env.gain.setTargetAtTime(peak * 0.6, when + 0.01, 0.15);
  osc.connect(filter).connect(env).connect(trade.master);
  osc.start(when);
  return { osc, env, peak };
}

function release(v, when) {
  v.env.gain.cancelScheduledValues(when);
  v.env.gain.setTargetAtTime(0, when, 0.03);
  v.osc.stop(when + 0.2);
}

function noteOn(key, pitch, velocity) {
  if (!trade.s || trade.held.has(key) || pitch < 0 || pitch > 127) return;
  const id = trade.nextId++;
  trade.notes.set(id, [id, Math.max(0, heard()), null, pitch, velocity]);
  trade.held.set(key, id);
  trade.voices.set(id, voice(pitch, velocity, trade.ctx.currentTime, "triangle"));
}

function noteOff(key) {
  const id = trade.held.get(key);
  if (id === undefined) return;
  trade.held.delete(key);
  const n = trade.notes.get(id);
  n[2] = Math.max(n[1], heard());
  release(trade.voices.get(id), trade.ctx.currentTime);
  trade.voices.delete(id);
}

function typing(e) { return ["INPUT", "TEXTAREA", "SELECT"].includes(e.target.tagName) && e.target.type !== "range"; }

document.addEventListener("keydown", (e) => {
  if (!trade.s || e.repeat || typing(e) || e.ctrlKey || e.metaKey || e.altKey) return;
  if (e.code === "KeyZ" || e.code === "KeyX") { trade.octave += e.code === "KeyZ" ? -1 : 1; return; }
  const k = KEYS.indexOf(e.code);
  if (k < 0) return;
  e.preventDefault();
  noteOn(e.code, 60 + 12 * trade.octave + k, 100);
});
document.addEventListener("keyup", (e) => { if (trade.s) noteOff(e.code); });

async function listenToMidi() {
  if (!navigator.requestMIDIAccess) return "no Web MIDI in this browser: the computer keys play";
  try {
    const access = await navigator.requestMIDIAccess();
    const onMessage = (m) => {
      const [status, note, vel] = m.data, kind = status & 0xf0;
      if (kind === 0x90 && vel > 0) noteOn(`midi${note}`, note, vel);
      else if (kind === 0x80 || kind === 0x90) noteOff(`midi${note}`);
    };
    for (const input of access.inputs.values()) input.onmidimessage = onMessage;
    return `${access.inputs.size} MIDI input(s)`;
  } catch (e) {
    return "MIDI not allowed: the computer keys play";
  }
}

function changedNotes() {
  // Every note not yet sent as it is now (a held note is sent again when it ends).
  const out = [];
  for (const [id, n] of trade.notes) {
    const text = JSON.stringify(n);
    if (trade.sent.get(id) !== text) { out.push(n); trade.sent.set(id, text); }
  }
  return out;
}

async function startTrade() {
  const status = $("trade-status");
  status.className = "";
  status.textContent = "setting up the band…";
  $("trade-start").disabled = true;
  const req = request();
  delete req.seconds;
  req.bars = Number($("trade-bars").value);
  try {
    const r = await getJSON("/api/trade", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(req),
    });
    if (!r.ok) throw new Error(r.body.error);
    trade.ctx = trade.ctx || new AudioContext();
    await trade.ctx.resume();
    const data = await (await fetch(r.body.band)).arrayBuffer();
    const buffer = await trade.ctx.decodeAudioData(data);
    begin(r.body, buffer, await listenToMidi());
  } catch (e) {
    status.className = "error";
    status.textContent = e.message;
    $("trade-start").disabled = false;
  }
}

function begin(s, buffer, midi) {
  // A bar of clicks to count in, then the band from t0, looping its second half for ever.
  const ctx = trade.ctx, beat = s.bar_seconds / s.meter[0];
  Object.assign(trade, { s, notes: new Map(), sent: new Map(), held: new Map(), voices: new Map(),
    asked: new Set(), log: [], scheduled: [], nextId: 1, octave: 0 });
  trade.lead = chooseLead(s.answer_ms / 1000 + 0.05);       // the server's time, plus the trip
  trade.master = ctx.createGain();
  trade.master.connect(ctx.destination);
  trade.t0 = ctx.currentTime + 0.3 + s.bar_seconds;
  for (let k = 0; k < s.meter[0]; k++) {
    const click = voice(k ? 84 : 96, 90, trade.t0 - s.bar_seconds + k * beat, "square");
    release(click, trade.t0 - s.bar_seconds + k * beat + 0.03);
  }
  trade.band = ctx.createBufferSource();
  Object.assign(trade.band, { buffer, loop: true, loopStart: s.loop[0], loopEnd: s.loop[1] });
  trade.band.connect(trade.master);
  trade.band.start(trade.t0);
  trade.timer = setInterval(tick, 15);
  $("trade-stop").disabled = false;
  $("trade-save").hidden = true;
  $("trade-log").replaceChildren();
  $("trade-status").textContent = `${s.bars} bar${s.bars > 1 ? "s" : ""} each at ${s.bpm} bpm; ${midi}`;
}

function tick() {
  // Show whose bar it is; ask for the answer LEAD seconds before the player's last bar line.
  const s = trade.s, t = trade.ctx.currentTime - trade.t0, bar = Math.floor(t / s.bar_seconds);
  const turn = Math.floor(Math.max(bar, 0) / (2 * s.bars)), inTurn = Math.max(bar, 0) % (2 * s.bars);
  $("trade-bar").textContent = t < 0 ? `count-in: ${Math.ceil(-t / (s.bar_seconds / s.meter[0]))}` :
    inTurn < s.bars ? `your bar ${inTurn + 1} of ${s.bars}` : `jazzgen's bar ${inTurn - s.bars + 1} of ${s.bars}`;
  $("trade-bar").className = t >= 0 && inTurn < s.bars ? "you" : "jazzgen";
  const due = (2 * turn + 1) * s.bars * s.bar_seconds;
  if (!trade.asked.has(turn) && t >= due - trade.lead) ask(turn, due);
}

async function ask(turn, due) {
  trade.asked.add(turn);
  const sentAt = performance.now(), entry = { turn, due, lead: trade.lead, sent: 0 };
  const notes = changedNotes();
  entry.sent = notes.filter((n) => n[1] >= due - trade.s.bars * trade.s.bar_seconds && n[1] < due).length;
  const r = await getJSON(`/api/trade/${trade.s.id}/answer`, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ turn, notes, heard: Math.max(0, heard()) }),
  });
  if (!trade.s || !trade.timer) return;
  entry.ready = trade.ctx.currentTime - trade.t0;              // session second it could be scheduled
  entry.latency = (performance.now() - sentAt) / 1000;
  entry.margin = due - entry.ready;                             // > 0: ready before its bar
  if (!r.ok) {
    entry.error = r.body.error;
  } else {
    entry.server_ms = r.body.ms;
    entry.notes = r.body.notes.length;
    entry.answer = r.body.notes;
    play(r.body.notes, entry);
  }
  trade.log.push(entry);
  trade.lead = chooseLead(Math.max(...trade.log.slice(-4).map((e) => e.latency)));
  showEntry(entry);
}

function chooseLead(latency) {
  // How long before the bar line to ask: twice the slowest of the last few round trips and
  // 40 ms more (timers and the network stall on a busy machine), 100 ms at least, a beat at most.
  const beat = trade.s.bar_seconds / trade.s.meter[0];
  return Math.min(Math.max(0.1, 2 * latency + 0.04), beat);
}

function play(notes, entry) {
  // The answer's notes as oscillators at their session seconds (a note already past is skipped).
  const ctx = trade.ctx;
  entry.late = 0;
  for (const [on, off, pitch, velocity] of notes) {
    const when = trade.t0 + on;
    if (when < ctx.currentTime) { entry.late++; continue; }
    const v = voice(pitch, velocity, when, "sawtooth");
    release(v, trade.t0 + off);
    trade.scheduled.push({ when, until: trade.t0 + off, pitch, osc: v.osc });
  }
}

function showEntry(e) {
  const li = document.createElement("li");
  li.textContent = e.error ? `turn ${e.turn + 1}: ${e.error}` :
    `turn ${e.turn + 1}: you played ${e.sent} notes; jazzgen answered ${e.notes}, ready ` +
    `${Math.round(1000 * Math.abs(e.margin))} ms ${e.margin >= 0 ? "before" : "after"} its bar ` +
    `(asked ${Math.round(1000 * e.lead)} ms ahead; ${Math.round(1000 * e.latency)} ms round trip, ` +
    `${Math.round(e.server_ms)} ms in the server)`;
  li.className = e.error || e.margin < 0 ? "late" : "";
  $("trade-log").prepend(li);
}

async function stopTrade() {
  clearInterval(trade.timer);
  trade.timer = null;
  const ctx = trade.ctx, now = ctx.currentTime;
  for (const key of [...trade.held.keys()]) noteOff(key);
  trade.band.stop();
  for (const n of trade.scheduled) if (n.when > now) n.osc.stop();
  $("trade-stop").disabled = true;
  $("trade-start").disabled = false;
  $("trade-bar").textContent = "";
  const notes = changedNotes();
  if (notes.length) {
    const r = await getJSON(`/api/trade/${trade.s.id}/notes`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ notes }),
    });
    if (!r.ok) $("trade-status").textContent = r.body.error;
  }
  $("trade-save").href = trade.s.mid;
  $("trade-save").hidden = false;
  trade.s = null;
}

$("trade-start").addEventListener("click", startTrade);
$("trade-stop").addEventListener("click", stopTrade);
