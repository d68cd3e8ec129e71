// The studio's New preset panel: the poser's sliders over the live face (each move is one set_draft command, so
// the preview shows the preset as it will look), then save_preset writes it into your expressions file.
// Loaded before studio.js, whose $, setup, state and command it uses once the page has started.
"use strict";

const moved = {};  // the sliders moved: {parameter: value}; only these go into the preset
let draftTimer = null;

function drawNewPreset() {
  const box = $("preset-sliders");
  if (box.dataset.ready || !setup.parameters) return;
  box.dataset.ready = "1";
  const groups = {};
  for (const p of setup.parameters) (groups[p.group] = groups[p.group] || []).push(p);
  box.replaceChildren(...Object.entries(groups).map(([group, parameters]) => {
    const set = document.createElement("fieldset");
    const legend = document.createElement("legend");
    legend.textContent = group.replace(/_/g, " ");
    set.append(legend);
    for (const p of parameters) {
      const label = document.createElement("label");
      label.className = "slider";
      const name = document.createElement("span");
      name.textContent = p.name;
      const slider = document.createElement("input");
      Object.assign(slider, { type: "range", min: p.minimum, max: p.maximum, step: 0.01, value: 0 });
      slider.dataset.parameter = p.name;
      slider.setAttribute("aria-label", p.name);
      slider.addEventListener("input", () => {
        moved[p.name] = Number(slider.value);
        clearTimeout(draftTimer);  // one command per pause in the movement, not one per pixel
        draftTimer = setTimeout(() => command("set_draft", { pose: { ...moved } }), 80);
      });
      label.append(name, slider);
      set.append(label);
    }
    return set;
  }));
}

function resetSliders() {
  for (const name of Object.keys(moved)) delete moved[name];
  for (const slider of $("preset-sliders").querySelectorAll("input[type=range]")) slider.value = 0;
}

function wireNewPreset() {
  $("save-preset").addEventListener("click", async () => {
    clearTimeout(draftTimer);
    const name = $("preset-name").value.trim();
    const key = $("preset-key").value.trim();
    if (!Object.keys(moved).length) { say("move a slider first: the preset is what the sliders show", true); return; }
    if (!(await command("set_draft", { pose: { ...moved } }))) return;
    if (await command("save_preset", { name, ...(key ? { key } : {}) })) {
      resetSliders();
      $("preset-name").value = "";
      $("preset-key").value = "";
    }
  });
  $("discard-preset").addEventListener("click", () => {
    clearTimeout(draftTimer);
    resetSliders();
    command("set_draft", { pose: {} });
  });
}
