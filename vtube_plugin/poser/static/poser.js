// The poser page: builds one slider per pose parameter from /api/setup, sends the pose on every input,
// and shows the newest frame the server finished (the server drops poses that went stale while it rendered).
"use strict";

const GROUP_TITLES = {
  eyebrow: "Eyebrows", eye: "Eyes", iris_morph: "Iris size", mouth: "Mouth",
  iris_rotation: "Iris direction", face_rotation: "Head", body_rotation: "Body", breathing: "Breathing",
};

const state = {
  sliders: new Map(),   // parameter name -> <input type=range>
  character: null,
  posted: 0,            // newest ticket the server handed us for a pose we sent
  received: 0,          // newest frame ticket the server told us about
  shown: 0,             // ticket of the frame in the <img>; older answers are ignored
  changed: false,       // the sliders moved since the last pose we posted
  sending: null,        // the promise of the posts under way (one at a time, so the server gets them in order)
  waiters: [],          // resolve() calls waiting for the preview to catch up (save waits on this)
};

const $ = (id) => document.getElementById(id);
// The server writes its token into the page; every POST carries it (a page from another site cannot read it).
const TOKEN = document.querySelector('meta[name="page-token"]').content;

async function api(path, options = {}) {
  const response = await fetch(path, options);
  let body = {};
  try { body = await response.json(); } catch (_) { /* an empty or non-JSON answer */ }
  if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
  return body;
}

// Every state-changing request: JSON with the token, the only kind the server takes.
function post(path, value) {
  return api(path, {
    method: "POST", headers: { "Content-Type": "application/json", "X-Page-Token": TOKEN },
    body: JSON.stringify(value),
  });
}

function say(text, isError = false) {
  const box = $("message");
  box.textContent = text;
  box.classList.toggle("error", isError);
  box.hidden = !text;
}

// --- sliders -----------------------------------------------------------------------------------
function label(name) { return name.replace(/_(left|right)$/, "").replaceAll("_", " "); }

function makeSlider(p, side) {
  const wrap = document.createElement("div");
  wrap.className = "slider";
  const tag = document.createElement("span");
  tag.className = "side";
  tag.textContent = side;
  const input = document.createElement("input");
  Object.assign(input, { type: "range", min: p.minimum, max: p.maximum, step: 0.01, value: 0, disabled: !p.enabled });
  input.dataset.param = p.name;
  input.title = p.enabled ? `${p.name} (${p.minimum}..${p.maximum}; double-click for 0)` : `${p.name}: THA3 only`;
  const out = document.createElement("output");
  out.textContent = "0.00";
  input.addEventListener("input", () => { out.textContent = Number(input.value).toFixed(2); schedulePose(); });
  input.addEventListener("dblclick", () => setValues({ [p.name]: 0 }));
  wrap.append(tag, input, out);
  state.sliders.set(p.name, input);
  return wrap;
}

function buildSliders(setup) {
  const root = $("sliders");
  root.replaceChildren();
  for (const group of setup.groups) {
    const fieldset = document.createElement("fieldset");
    fieldset.className = "group";
    fieldset.dataset.group = group;
    const legend = document.createElement("legend");
    legend.textContent = GROUP_TITLES[group] || group;
    fieldset.append(legend);
    const params = setup.parameters.filter((p) => p.group === group);
    for (let i = 0; i < params.length; i++) {
      const p = params[i];
      const next = params[i + 1];
      const row = document.createElement("div");
      row.className = "param";
      const name = document.createElement("span");
      name.className = "label";
      name.textContent = label(p.name);
      const controls = document.createElement("div");
      controls.className = "controls";
      // A left/right pair shares a row: the character's left side first, as the table lists it.
      if (p.name.endsWith("_left") && next && next.name === p.name.replace(/_left$/, "_right")) {
        row.classList.add("pair");
        controls.append(makeSlider(p, "L"), makeSlider(next, "R"));
        i++;
      } else {
        controls.append(makeSlider(p, ""));
      }
      row.append(name, controls);
      fieldset.append(row);
    }
    root.append(fieldset);
  }
}

function currentPose() {
  const pose = {};
  for (const [name, input] of state.sliders) if (!input.disabled) pose[name] = Number(input.value);
  return pose;
}

function setValues(values, { resetOthers = false } = {}) {
  for (const [name, input] of state.sliders) {
    if (name in values) input.value = values[name];
    else if (resetOthers) input.value = 0;
    input.nextElementSibling.textContent = Number(input.value).toFixed(2);
  }
  schedulePose();
}

// --- the preview: post poses, long-poll for the newest finished frame ----------------------------
function schedulePose() {
  // Input events come faster than the screen refreshes; one post per animation frame is plenty. Posts go
  // one at a time: two in flight could reach the server in the wrong order and leave an older pose newest.
  state.changed = true;
  if (!state.sending) state.sending = new Promise((resolve) => requestAnimationFrame(async () => {
    while (state.changed) {
      state.changed = false;
      await sendPose();
    }
    state.sending = null;
    updateStatus();
    resolve();
  }));
  updateStatus();
}

async function sendPose() {
  try {
    const answer = await post("/api/pose", { pose: currentPose(), character: state.character });
    state.posted = Math.max(state.posted, answer.ticket);
    updateStatus();
  } catch (err) {
    say(err.message, true);
  }
}

async function pollFrames() {
  for (;;) {
    try {
      const frame = await api(`/api/frame?after=${state.received}`);
      if (frame.ticket === null || frame.ticket <= state.received) continue;
      state.received = frame.ticket;
      if (frame.error) {
        say(frame.error, true);
        showFrame(frame.ticket, null);
      } else {
        await preload(frame.url).then(() => showFrame(frame.ticket, frame.url), () => {});
      }
    } catch (err) {
      say(`lost the poser server (${err.message}); is it still running?`, true);
      await new Promise((resolve) => setTimeout(resolve, 2000));
      // A restarted server counts frames from 1 again: forget ours and ask for the sliders' pose anew.
      Object.assign(state, { posted: 0, received: 0, shown: 0 });
      schedulePose();
    }
  }
}

function preload(url) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = resolve;
    image.onerror = reject;
    image.src = url;
  });
}

function showFrame(ticket, url) {
  if (ticket <= state.shown) return; // an older answer arriving late: the newer frame stays
  state.shown = ticket;
  if (url) {
    const img = $("preview");
    img.src = url;
    img.dataset.ticket = String(ticket);
  }
  updateStatus();
}

// Caught up: no slider move is waiting to be posted (or being posted), and the frame shown is the newest pose's.
function caughtUp() { return !state.sending && state.shown >= state.posted && state.posted > 0; }

function updateStatus() {
  const ready = caughtUp();
  $("preview-box").dataset.state = ready ? "ready" : "rendering";
  $("status").textContent = ready ? `frame ${state.shown}` : `rendering… (showing frame ${state.shown || "none"})`;
  if (ready) for (const resolve of state.waiters.splice(0)) resolve();
}

function untilCaughtUp() {
  return caughtUp() ? Promise.resolve() : new Promise((resolve) => state.waiters.push(resolve));
}

// --- actions -------------------------------------------------------------------------------------
async function save() {
  $("save").disabled = true;
  try {
    if (state.sending) await state.sending;
    await untilCaughtUp(); // save what the sliders say, not a frame from before the last move
    const saved = await post("/api/save", { ticket: state.shown });
    const box = $("saved");
    box.replaceChildren(`Saved ${saved.png} and ${saved.json.split(/[\\/]/).pop()} `);
    for (const [text, href] of [["download PNG", saved.png_url], ["download JSON", saved.json_url]]) {
      const link = document.createElement("a");
      link.href = href;
      link.textContent = text;
      link.download = "";
      box.append(" · ", link);
    }
    box.dataset.png = saved.png;
    box.dataset.json = saved.json;
    box.hidden = false;
    say("");
  } catch (err) {
    say(err.message, true);
  } finally {
    $("save").disabled = false;
  }
}

async function loadPose(file) {
  try {
    const answer = await post("/api/load-pose", { text: await file.text() });
    if (answer.character) selectCharacter(answer.character);
    setValues(answer.pose, { resetOthers: true });
    say(answer.note || `loaded the pose from ${file.name}`);
  } catch (err) {
    say(`${file.name}: ${err.message}`, true);
  }
}

async function upload(file) {
  try {
    const answer = await post("/api/character", { name: file.name, data: await base64(file) });
    fillCharacters(answer.characters);
    selectCharacter(answer.name);
    say(`added ${answer.name}`);
  } catch (err) {
    say(err.message, true);
  }
}

function base64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || ""); // after "data:...;base64,"
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

function fillCharacters(names) {
  const select = $("character");
  select.replaceChildren(...names.map((name) => new Option(name, name)));
  if (state.character) select.value = state.character;
}

function selectCharacter(name) {
  state.character = name;
  $("character").value = name;
  schedulePose();
}

async function loadPresets() {
  let presets = [];
  try {
    presets = (await api("/api/expressions")).presets;
  } catch (err) {
    say(`expression presets: ${err.message}`, true); // a broken presets file: say why there are no buttons
  }
  $("presets").replaceChildren(...presets.map((preset) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = preset.name;
    button.dataset.preset = preset.name;
    button.title = preset.description;
    button.addEventListener("click", () => applyExpression(preset.name));
    return button;
  }));
}

async function applyExpression(name) {
  try {
    // The server blends it by the same rule as the live expression layer, fully faded in.
    const answer = await post("/api/expression", { name, pose: currentPose() });
    setValues(answer.pose);
    say("");
  } catch (err) {
    say(err.message, true);
  }
}

async function start() {
  const setup = await api("/api/setup");
  buildSliders(setup);
  state.character = setup.character;
  fillCharacters(setup.characters);
  $("model").textContent = `model ${setup.model} · saving to ${setup.save_dir}`;
  $("character").addEventListener("change", (e) => selectCharacter(e.target.value));
  $("upload").addEventListener("change", (e) => { if (e.target.files[0]) upload(e.target.files[0]); e.target.value = ""; });
  $("load-pose").addEventListener("change", (e) => { if (e.target.files[0]) loadPose(e.target.files[0]); e.target.value = ""; });
  $("reset").addEventListener("click", () => setValues({}, { resetOthers: true }));
  $("save").addEventListener("click", save);
  loadPresets();
  pollFrames();
  schedulePose();
}

start().catch((err) => say(`could not start: ${err.message}`, true));
