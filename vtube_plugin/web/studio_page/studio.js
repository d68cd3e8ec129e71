// The studio page: every control sends one JSON command (with the page's token) to the running session, and the
// session's events (over /studio/events) redraw what changed. The preview is the Browser Source feed (/stream).
"use strict";

const TOKEN = document.querySelector('meta[name="page-token"]').content;
const LAN_TOKEN = new URLSearchParams(location.search).get("token");  // opened to the LAN: every request carries it
const $ = (id) => document.getElementById(id);
let setup = { sources: {}, profiles: [], microphones: [], characters: [], browser_source_url: "", max_upload: 0 };
let state = null;
const latency = [];  // [time, p50, p95] of the last minute

function withLan(path) {
  if (!LAN_TOKEN) return path;
  return path + (path.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(LAN_TOKEN);
}

async function answerOf(response) {
  let answer = {};
  try { answer = await response.json(); } catch (error) { /* not JSON: say the status */ }
  if (!response.ok) throw new Error(answer.error || `the studio answered ${response.status}`);
  return answer;
}

async function api(path) {
  return answerOf(await fetch(withLan(path), { cache: "no-store" }));
}

async function post(path, body) {
  return answerOf(await fetch(withLan(path), {
    method: "POST", headers: { "Content-Type": "application/json", "X-Page-Token": TOKEN },
    body: JSON.stringify(body),
  }));
}

function say(text, isError = false) {
  const line = $("message");
  line.textContent = text;
  line.classList.toggle("error", isError);
}

// One command; its answer (the parts of the state it changed) is drawn at once, a refusal is said.
async function command(type, data = {}) {
  try {
    const answer = await post("/studio/api/command", { type, data });
    Object.assign(state, answer.result);
    draw();
    return answer;
  } catch (error) {
    say(error.message, true);
    draw();  // a refused change puts the control back to what the session really does
    return null;
  }
}

// --- drawing the state ----------------------------------------------------------------------------
function setValue(element, value) {
  if (document.activeElement !== element) element.value = value;
}

function setChecked(element, on) {
  if (document.activeElement !== element) element.checked = Boolean(on);
}

function fillSelect(select, items) {  // items: [[value, label]]; kept when unchanged, so a choice is not lost
  const wanted = JSON.stringify(items);
  if (select.dataset.items === wanted) return;
  select.dataset.items = wanted;
  select.replaceChildren(...items.map(([value, label]) => new Option(label, value)));
}

function draw() {
  if (!state) return;
  drawStatus();
  drawTracking();
  drawExpressions();
  drawNewPreset();
  drawLife();
  drawCharacter();
  drawOutputs();
}

function number(value, digits = 1, unit = "") {
  return value === null || value === undefined ? "–" : `${Number(value).toFixed(digits)}${unit}`;
}

function drawStatus() {
  const source = state.source || {};
  const render = state.render || {};
  const tracker = source.state === "tracking" ? `tracking${source.sender ? " from " + source.sender : ""}`
    : source.state || "–";
  $("tracker").textContent = `${source.name || "?"}: ${tracker}`;
  $("tracker").dataset.state = source.state || "";
  $("render-fps").textContent = number(render.fps);
  $("output-fps").textContent = number(render.output_fps);
  // Pictures a second that are not repeats: renders and the in-between frames --smooth makes (issue 19).
  const smooth = render.smooth || {};
  $("distinct-fps").textContent = number(smooth.distinct_fps);
  $("smooth").textContent = smooth.mode || "–";
  const faults = Object.entries(state.faults || {});
  $("faults").textContent = faults.length
    ? faults.map(([name, times]) => `${name} (${times} time${times === 1 ? "" : "s"})`).join(", ") : "none";
  $("latency").textContent = `${number(render.latency_p50_ms, 0, " ms")} / ${number(render.latency_p95_ms, 0, " ms")}`;
  $("datagrams").textContent = `${source.packets ?? 0} / ${source.dropped ?? 0}`;
  $("ignored").textContent = String(source.ignored ?? 0);
  $("engine").textContent = render.engine || "–";
  const plan = render.plan || {};
  $("plan").textContent = Object.keys(plan).length
    ? Object.entries(plan).map(([stage, precision]) => `${stage}: ${precision}`).join(", ") : "–";
  drawLatencyGraph();
}

function drawLatencyGraph() {
  const canvas = $("latency-graph");
  const width = canvas.clientWidth || canvas.width;
  if (canvas.width !== width) canvas.width = width;
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, canvas.width, canvas.height);
  if (!latency.length) return;
  const now = performance.now() / 1000;
  const highest = Math.max(50, ...latency.map(([, , p95]) => p95 || 0)) * 1.1;
  for (const [index, colour] of [[1, "#4fbf86"], [2, "#ffb347"]]) {
    context.strokeStyle = colour;
    context.beginPath();
    latency.forEach((sample, i) => {
      const x = canvas.width * (1 - (now - sample[0]) / 60);
      const y = canvas.height * (1 - (sample[index] || 0) / highest);
      if (i === 0) context.moveTo(x, y); else context.lineTo(x, y);
    });
    context.stroke();
  }
  context.fillStyle = "#aab";
  context.fillText(`${Math.round(highest)} ms`, 4, 10);
}

function keepLatency(render) {
  if (!render || render.latency_p50_ms === null || render.latency_p50_ms === undefined) return;
  const now = performance.now() / 1000;
  latency.push([now, render.latency_p50_ms, render.latency_p95_ms]);
  while (latency.length && latency[0][0] < now - 60) latency.shift();
}

// A source picked but refused (its port taken, say) stays picked, with its option fields, until one works.
let chosenSource = null;

function drawTracking() {
  const source = state.source || {};
  if (chosenSource === source.name) chosenSource = null;
  const shown = chosenSource || source.name;
  fillSelect($("source"), Object.keys(setup.sources).map((name) => [name, name]));
  setValue($("source"), shown);
  drawSourceOptions(shown === source.name ? source : { name: shown, options: {} });
  fillSelect($("profile"), setup.profiles.map((name) => [name, name === "auto" ? "auto (the source's own)" : name]));
  setValue($("profile"), state.profile || "auto");
  setChecked($("mirror"), state.mirror);
  $("mirror").disabled = source.name !== "webcam";
  if (!countingDown) $("calibrate").textContent = state.calibrating ? "Calibrating…" : "Calibrate";
}

function drawSourceOptions(source) {
  const box = $("source-options");
  const options = setup.sources[source.name] || {};
  if (box.dataset.source !== source.name) {
    box.dataset.source = source.name;
    box.replaceChildren(...Object.entries(options).map(([key, kind]) => {
      const id = `option-${key}`;
      const label = document.createElement("label");
      const input = document.createElement("input");
      input.id = id;
      input.dataset.option = key;
      input.dataset.kind = kind;
      if (kind === "on/off") {
        input.type = "checkbox";
        label.className = "check";
        label.append(input, ` ${key}`);
        return label;
      }
      input.type = kind === "number" ? "number" : "text";
      label.htmlFor = id;
      label.textContent = key;
      const wrap = document.createElement("div");
      wrap.append(label, input);
      return wrap;
    }));
  }
  for (const input of box.querySelectorAll("input[data-option]")) {
    const value = (source.options || {})[input.dataset.option];
    if (input.type === "checkbox") setChecked(input, value);
    else setValue(input, value === undefined || value === null ? "" : String(value));
  }
}

function sourceOptions() {
  const options = {};
  for (const input of $("source-options").querySelectorAll("input[data-option]")) {
    if (input.type === "checkbox") options[input.dataset.option] = input.checked;
    else if (input.value.trim() !== "") {
      options[input.dataset.option] = input.dataset.kind === "number" ? Number(input.value) : input.value.trim();
    }
  }
  return options;
}

function drawExpressions() {
  const expressions = state.expressions || { presets: [], active: [] };
  const box = $("presets");
  const names = JSON.stringify(expressions.presets.map((p) => [p.name, p.hotkey]));
  if (box.dataset.names !== names) {
    box.dataset.names = names;
    box.replaceChildren(...expressions.presets.map((preset) => {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.preset = preset.name;
      button.textContent = preset.hotkey ? `${preset.name} (${preset.hotkey})` : preset.name;
      button.addEventListener("click", () => command("set_expression", { name: preset.name, action: "toggle" }));
      return button;
    }));
  }
  for (const button of box.querySelectorAll("button")) {
    button.setAttribute("aria-pressed", String(expressions.active.includes(button.dataset.preset)));
  }
  $("neutral").setAttribute("aria-pressed", String(expressions.active.length === 0));
}

function drawLife() {
  const lip = state.lip_sync || {};
  setChecked($("idle"), state.idle);
  setChecked($("lip-sync"), lip.mode === "mic");
  fillSelect($("microphone"), [["", "Default microphone"], ...setup.microphones.map((name) => [name, name])]);
  setValue($("microphone"), lip.device || "");
  const level = lip.level === null || lip.level === undefined ? -80 : Math.max(-80, Math.min(0, lip.level));
  $("voice-level").value = level;
  const gate = lip.gate ?? -80;
  $("gate-mark").style.left = `${Math.max(0, Math.min(100, (gate + 80) / 80 * 100))}%`;
  $("voice-text").textContent = lip.mode === "mic"
    ? `${number(lip.level, 0, " dB")} (gate ${number(lip.gate, 0, " dB")})${lip.talking ? ", talking" : ""}`
    : "lip sync is off";
}

function drawCharacter() {
  const items = setup.characters.map((c) => [c.path, c.name]);
  const current = state.character;
  if (current && !items.some(([path]) => path === current)) items.push([current, current.split(/[\\/]/).pop()]);
  if (!current) items.unshift(["", "the sample character"]);
  fillSelect($("character"), items);
  setValue($("character"), current || "");
}

function drawOutputs() {
  setValue($("browser-url"), setup.browser_source_url);
  const outputs = state.outputs || {};
  setChecked($("virtualcam"), outputs.virtualcam);
  const vmc = outputs.vmc_out || {};
  setChecked($("vmc-out"), vmc.on);
  if (vmc.target && !$("vmc-target").value) setValue($("vmc-target"), vmc.target);
  const recording = state.recording || {};
  $("record").disabled = Boolean(recording.on);
  $("stop-recording").disabled = !recording.on;
  $("recording").textContent = recording.on
    ? `recording ${number(recording.seconds, 0, " s")} to ${recording.path}`
    : `not recording (files go to ${recording.folder || "your Videos folder"})`;
}

// --- the controls ---------------------------------------------------------------------------------
let countingDown = false;

function wire() {
  $("source").addEventListener("change", () => {
    chosenSource = $("source").value;
    $("source-options").dataset.source = "";  // the new source's own fields, empty: its defaults
    draw();
    command("set_source", { source: chosenSource, options: {} });
  });
  $("source-options").addEventListener("change", () => {
    command("set_source", { source: $("source").value, options: sourceOptions() });
  });
  $("profile").addEventListener("change", () => command("set_profile", { profile: $("profile").value }));
  $("mirror").addEventListener("change", () => command("set_mirror", { on: $("mirror").checked }));
  $("calibrate").addEventListener("click", async () => {
    // A short countdown: time to look at the screen with a neutral face before the calibration starts.
    if (countingDown) return;
    countingDown = true;
    const button = $("calibrate");
    button.disabled = true;
    for (let n = 3; n > 0; n -= 1) {
      $("calibrate-countdown").textContent = `look at the screen with a neutral face: ${n}…`;
      await new Promise((done) => setTimeout(done, 1000));
    }
    $("calibrate-countdown").textContent = "";
    countingDown = false;
    button.disabled = false;
    if (await command("calibrate")) say("calibrating: keep still for a moment");
  });
  $("reset-calibration").addEventListener("click", () => command("reset_calibration"));
  $("neutral").addEventListener("click", () => command("clear_expressions"));
  $("idle").addEventListener("change", () => command("set_idle", { on: $("idle").checked }));
  const lipSync = () => {
    const device = $("microphone").value;
    return command("set_lip_sync", $("lip-sync").checked ? { mode: "mic", ...(device ? { device } : {}) }
      : { mode: "off" });
  };
  $("lip-sync").addEventListener("change", lipSync);
  $("microphone").addEventListener("change", () => { if ($("lip-sync").checked) lipSync(); });
  $("character").addEventListener("change", () => {
    if ($("character").value) command("set_character", { path: $("character").value });
  });
  $("upload").addEventListener("change", upload);
  $("copy-url").addEventListener("click", copyUrl);
  $("add-to-obs").addEventListener("click", async () => {
    try {
      const answer = await post("/studio/api/obs", {});
      say(answer.said.join("; "));
    } catch (error) { say(error.message, true); }
  });
  $("virtualcam").addEventListener("change", () => command("set_output",
    { output: "virtualcam", on: $("virtualcam").checked }));
  $("vmc-out").addEventListener("change", () => {
    const target = $("vmc-target").value.trim();
    command("set_output", { output: "vmc_out", on: $("vmc-out").checked, ...(target ? { target } : {}) });
  });
  $("record").addEventListener("click", () => command("start_recording"));
  $("stop-recording").addEventListener("click", async () => {
    const answer = await command("stop_recording");
    if (answer) say("recording saved");
  });
}

async function upload() {
  const file = $("upload").files[0];
  const message = $("character-message");
  message.textContent = "";
  $("character-fitted").textContent = "";
  if (!file) return;
  if (file.size > setup.max_upload) {  // said before sending megabytes the server would refuse anyway
    message.textContent = `${file.name} is ${(file.size / 2 ** 20).toFixed(1)} MB; a character picture must be ` +
      `under ${Math.round(setup.max_upload / 2 ** 20)} MB`;
    $("upload").value = "";
    return;
  }
  try {
    const data = await new Promise((done, failed) => {
      const reader = new FileReader();
      reader.onload = () => done(String(reader.result).split(",", 2)[1] || "");
      reader.onerror = () => failed(new Error(`cannot read ${file.name}`));
      reader.readAsDataURL(file);
    });
    say(`checking ${file.name}...`);
    const answer = await post("/studio/api/character", { name: file.name, data, fit: $("fit").checked });
    setup.characters = answer.characters;
    Object.assign(state, answer.result);
    message.textContent = "";
    $("character-fitted").textContent = answer.said.join("\n");  // what fitting did, or what to know
    say(`now streaming ${file.name}${answer.fitted ? " (fitted)" : ""}`);
  } catch (error) {
    message.textContent = error.message;  // the running character stays
  }
  $("upload").value = "";
  draw();
}

async function copyUrl() {
  const field = $("browser-url");
  try {
    await navigator.clipboard.writeText(field.value);
  } catch (error) {  // an OBS dock may not grant the clipboard: select it so Ctrl+C copies
    field.select();
    document.execCommand("copy");
  }
  say("copied the Browser Source URL: in OBS, Sources > + > Browser, paste it as the URL");
}

// --- the live connections -------------------------------------------------------------------------
function listen() {
  const socket = new WebSocket(withLan(`ws://${location.host}/studio/events`));
  socket.onopen = () => { $("connection").textContent = "connected"; document.body.dataset.state = "live"; };
  socket.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (event.type === "state") state = event.data;
    else if (!state) return;
    else if (event.type === "status") { Object.assign(state, event.data); keepLatency(event.data.render); }
    else if (event.type === "message") say(event.data.text);
    else if (event.type === "stopped") {
      $("connection").textContent = `the session stopped (${event.data.reason})`;
      document.body.dataset.state = "stopped";
    } else state[event.type] = event.data;
    draw();
  };
  socket.onclose = () => {
    if (document.body.dataset.state !== "stopped") {
      $("connection").textContent = "not connected: is `vtube-plugin studio` running? retrying…";
      document.body.dataset.state = "waiting";
    }
    setTimeout(listen, 1000);
  };
}

// As the Browser Source page: the newest PNG frame wins, each drawn when the previous one is on screen.
const shown = { newest: null, drawing: false, drawn: 0 };

async function drawNewest() {
  const canvas = $("preview");
  const context = canvas.getContext("2d");
  shown.drawing = true;
  while (shown.newest !== null) {
    const blob = shown.newest;
    shown.newest = null;
    try {
      const picture = await createImageBitmap(blob);
      if (canvas.width !== picture.width || canvas.height !== picture.height) {
        canvas.width = picture.width;
        canvas.height = picture.height;
      }
      context.clearRect(0, 0, canvas.width, canvas.height);
      context.drawImage(picture, 0, 0);
      picture.close();
      shown.drawn += 1;
      canvas.dataset.frames = String(shown.drawn);  // tests (and the curious) can see frames arriving
    } catch (error) {
      console.warn("studio: a frame could not be decoded", error);
    }
  }
  shown.drawing = false;
}

function preview() {
  const socket = new WebSocket(withLan(`ws://${location.host}/stream`));
  socket.binaryType = "blob";
  socket.onmessage = (event) => { shown.newest = event.data; if (!shown.drawing) drawNewest(); };
  socket.onclose = () => setTimeout(preview, 1000);  // the session restarted: keep the last frame meanwhile
}

async function start() {
  wire();
  wireNewPreset();
  for (;;) {  // while the session starts (the model loads), the server says so: ask again until it streams
    try {
      setup = await api("/studio/api/setup");
      state = await api("/studio/api/state");
      break;
    } catch (error) {
      $("connection").textContent = error.message;
      await new Promise((done) => setTimeout(done, 1000));
    }
  }
  draw();
  listen();
  preview();
}

start();
