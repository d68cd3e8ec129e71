"""`--precision auto` on a CPU measures its plan on this machine (render/tuning.py): on the real OpenVINO engine
and weights, with one candidate made slow or inaccurate on purpose. No timing is asserted beyond the delay the
test itself adds: which plan is fastest here is the benchmark's business (docs/performance.md)."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import torch

from vtube_plugin.render import Renderer
from vtube_plugin.render import tuning as tuning_module
from vtube_plugin.render.convert import rgba_to_tensor
from vtube_plugin.render.plan import FRAME_STAGES, StageChoice
from vtube_plugin.render.renderer import load_network, make_stages

FOLDED, PLAIN = StageChoice("fp32", "folded"), StageChoice("fp32", "plain")
DELAY = 0.05  # seconds added to every run of the candidate made slow on purpose, which also runs three times
QUICK = {"poses": tuning_module.POSES[1:], "rounds": 2}  # two poses, two timed rounds: a short measurement


class Altered:
    """The real stages, with one candidate's runs made slower (`slow`) or its outputs wrong (`noisy`)."""

    def __init__(self, stages, slow: StageChoice | None = None, noisy: StageChoice | None = None):
        self.stages, self.slow, self.noisy = stages, slow, noisy

    def __getattr__(self, name):
        return getattr(self.stages, name)

    def runner(self, stage, choice):
        run = self.stages.runner(stage, choice)
        if choice == self.slow:  # three times the work and a pause: slower whatever else the machine is doing
            return lambda *args: (time.sleep(DELAY), run(*args), run(*args), run(*args))[-1]
        if choice == self.noisy:
            rng = np.random.default_rng(0)
            return lambda *args: [x + rng.normal(0, 0.3, x.shape).astype(np.float32) for x in run(*args)]
        return run


@pytest.fixture(scope="module")
def stages(tha3_weights_dir, sample_rgba):
    network = load_network("tha3", tha3_weights_dir)
    built = make_stages(network, tha3_weights_dir, torch.device("cpu"), "openvino",
                        dict.fromkeys(FRAME_STAGES, FOLDED), print, forms={"folded", "plain"})
    built.set_character(rgba_to_tensor(sample_rgba))
    return built


@pytest.mark.parametrize("slow", [PLAIN, FOLDED], ids=["plain made slow", "folded made slow"])
def test_the_tuner_keeps_the_faster_of_two_candidates(stages, slow):
    tuned = tuning_module.tune(Altered(stages, slow=slow), FOLDED, [FOLDED, PLAIN], **QUICK)
    fast = PLAIN if slow == FOLDED else FOLDED
    assert tuned.plan == dict.fromkeys(FRAME_STAGES, fast)
    for stage in FRAME_STAGES:  # what it measured shows the delay it was given
        assert tuned.stage_ms[stage][slow.label] >= tuned.stage_ms[stage][fast.label] + DELAY * 1000 * 0.8
    assert stages.plan == tuned.plan  # the stages now run what was chosen
    assert tuned.min_psnr_db >= 80.0  # both forms are fp32: the same frames


def test_a_fast_candidate_under_45_db_is_never_chosen(stages):
    # The noisy candidate is the fastest (the accurate one is slowed), but its frames are far from fp32.
    tuned = tuning_module.tune(Altered(stages, slow=FOLDED, noisy=PLAIN), FOLDED, [FOLDED, PLAIN], **QUICK)
    assert tuned.plan == dict.fromkeys(FRAME_STAGES, FOLDED)
    assert tuned.stage_ms["edit"][PLAIN.label] < tuned.stage_ms["edit"][FOLDED.label]
    assert tuned.min_psnr_db >= 45.0


@pytest.fixture
def quick_tuning(monkeypatch, tmp_path):
    """Plans stored under tmp_path, two candidates, a short measurement; counts the measurements."""
    monkeypatch.setattr(tuning_module, "plans_dir", lambda: tmp_path)
    monkeypatch.setattr(tuning_module, "candidates", lambda engine, native: [FOLDED, PLAIN])
    monkeypatch.setattr(tuning_module, "POSES", QUICK["poses"][:1])  # what is stored matters here, not the ranking
    monkeypatch.setattr(tuning_module, "ROUNDS", 1)
    measured = []
    real = tuning_module.tune
    monkeypatch.setattr(tuning_module, "tune", lambda *a, **k: measured.append(1) or real(*a, **k))
    return measured


def load(tha3_weights_dir, lines, precision="auto", tuning="auto"):
    return Renderer.load(weights_dir=tha3_weights_dir, engine="openvino", precision=precision, say=lines.append,
                         tuning=tuning)


def test_the_plan_is_stored_reused_and_measured_again_when_its_key_changes(tha3_weights_dir, quick_tuning,
                                                                          tmp_path, monkeypatch):
    lines: list[str] = []
    first = load(tha3_weights_dir, lines)
    assert quick_tuning == [1] and "(measured on this machine on 20" in lines[-1]
    assert any(line.startswith("measuring which precision and form of each stage") for line in lines)
    stored = list(tmp_path.glob("openvino-*.json"))
    assert len(stored) == 1
    data = json.loads(stored[0].read_text())
    assert data["parts"]["engine"] == "openvino" and set(data["plan"]) == set(FRAME_STAGES)

    lines.clear()
    again = load(tha3_weights_dir, lines)
    assert quick_tuning == [1] and again.plan == first.plan  # read back, not measured
    assert "(read from the cache, measured on this machine on 20" in lines[-1]

    # Another CPU (here: other instruction-set flags) is another key: measured again, stored beside.
    identity = tuning_module.cpu_identity()
    monkeypatch.setattr(tuning_module, "cpu_identity", lambda: {**identity, "flags": "0" * 16})
    load(tha3_weights_dir, lines)
    assert quick_tuning == [1, 1] and len(list(tmp_path.glob("openvino-*.json"))) == 2

    # `bench --retune` measures anew; a damaged file is measured over, never a traceback.
    load(tha3_weights_dir, lines, tuning="again")
    assert quick_tuning == [1, 1, 1]
    stored[0].write_text("{not json")
    monkeypatch.setattr(tuning_module, "cpu_identity", lambda: identity)
    load(tha3_weights_dir, lines)
    assert quick_tuning == [1, 1, 1, 1] and json.loads(stored[0].read_text())["key"] == data["key"]


def test_a_one_frame_command_does_not_wait_for_the_measurement(tha3_weights_dir, quick_tuning):
    lines: list[str] = []
    renderer = load(tha3_weights_dir, lines, tuning="cached")
    assert quick_tuning == [] and renderer.plan == dict.fromkeys(FRAME_STAGES, FOLDED)
    assert "not measured on this machine yet" in lines[-1]


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_a_named_precision_is_obeyed_and_never_measured(tha3_weights_dir, quick_tuning, precision):
    lines: list[str] = []
    renderer = load(tha3_weights_dir, lines, precision=precision, tuning="again")
    assert quick_tuning == []
    assert renderer.stage_precisions == dict.fromkeys(FRAME_STAGES, precision)
    # bf16 runs the split upsampling, the one with fast bf16 kernels; fp32 the folded one.
    assert {c.form for c in renderer.plan.values()} == {"split" if precision == "bf16" else "folded"}
