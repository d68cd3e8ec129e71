"""Every engine that installs here against torch fp32 and the authors' reference, on the real weights.

The engines (torch fp32/bf16, OpenVINO f32, bf16 and the plan auto measured here, ONNX Runtime fp32) are built
once for the module;
the ONNX export is cached beside the weights, so only a fresh cache pays its ~25 s.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
from PIL import Image

from vtube_plugin.bench.run import premultiplied_psnr
from vtube_plugin.errors import UserError
from vtube_plugin.pose import Pose
from vtube_plugin.render import Renderer, export, load_poser
from vtube_plugin.render import renderer as renderer_module
from vtube_plugin.render.engine import choose_engine, cpu_has_native_bf16, fixed_plan
from vtube_plugin.render.exported_stages import OpenVINOStages
from vtube_plugin.render.plan import FRAME_STAGES, StageChoice, plan_precisions
from vtube_plugin.render.renderer import load_network, make_stages

# One pose per group of stages: eyebrows rerun stages 2-5, eyes/mouth 3-5, head/body only 4-5.
GROUPS = {
    "eyebrows": {"eyebrow_angry_left": 1.0, "eyebrow_raised_right": 0.7},
    "eyes_mouth": {"eye_wink_left": 1.0, "mouth_aaa": 0.8, "iris_rotation_y": 0.6},
    "head_body": {"head_y": 0.7, "neck_z": -0.4, "body_z": 0.5, "breathing": 0.6},
}
# The furthest from fp32 any plan `auto` can measure is every stage in bf16: it is tested on every CPU (forced
# where the CPU would not pick it), so a bf16-only difference shows on an AVX2 machine too.
ALL_BF16 = dict.fromkeys(FRAME_STAGES, StageChoice("bf16", "split"))
# torch's bf16 is emulated where the CPU lacks native bf16 (AVX-512 BF16 / AMX): about a minute a frame on
# the project's 2-core machine, so it is tested only where it is real (tests/test_render_tha3.py still
# renders one bf16 frame everywhere).
NATIVE_BF16 = cpu_has_native_bf16("torch")
ENGINES = ["torch fp32", "openvino fp32", "openvino bf16", "auto", "onnxruntime fp32"]
ENGINES += ["torch bf16"] if NATIVE_BF16 else []


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return premultiplied_psnr(a.float().cpu().numpy(), b.float().cpu().numpy())


@pytest.fixture(scope="module")
def auto_lines() -> list[str]:
    return []


@pytest.fixture(scope="module")
def engines(tha3_weights_dir, sample_rgba, auto_lines) -> dict[str, Renderer]:
    built = {
        "torch fp32": Renderer.load(weights_dir=tha3_weights_dir, engine="torch", precision="fp32"),
        "openvino fp32": Renderer.load(weights_dir=tha3_weights_dir, engine="openvino", precision="fp32"),
        # What --engine auto --precision auto builds here (says why on a line of its own).
        "auto": Renderer.load(weights_dir=tha3_weights_dir, engine="auto", precision="auto", say=auto_lines.append),
        "onnxruntime fp32": Renderer.load(weights_dir=tha3_weights_dir, engine="onnxruntime", precision="fp32"),
    }
    if NATIVE_BF16:
        built["torch bf16"] = Renderer.load(weights_dir=tha3_weights_dir, engine="torch", precision="bf16")
    network = load_network("tha3", tha3_weights_dir)
    stages = make_stages(network, tha3_weights_dir, torch.device("cpu"), "openvino", ALL_BF16, print)
    built["openvino bf16"] = Renderer(network, "cpu", "auto", engine="openvino", stages=stages)
    for renderer in built.values():
        renderer.set_character(sample_rgba)
    return built


@pytest.fixture(scope="module")
def references(engines, reference_tha3, sample_rgba) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Per pose group: (torch fp32 frame, the authors' frame)."""
    poser, util = reference_tha3
    image = util.extract_pytorch_image_from_PIL_image(Image.fromarray(sample_rgba)).unsqueeze(0)
    out = {}
    for name, values in GROUPS.items():
        pose = Pose.from_dict(values).as_array()
        with torch.no_grad():
            theirs = poser.pose(image, torch.from_numpy(pose).unsqueeze(0))
        out[name] = (engines["torch fp32"].render_tensor(pose).clone(), theirs)
    return out


@pytest.mark.parametrize("engine", ENGINES[1:])
def test_engine_matches_torch_fp32_and_the_reference_on_every_pose_group(engine, engines, references):
    renderer = engines[engine]
    # fp32 graphs are the accurate mode (>= 80 dB); any plan with bf16 must still hold 45 dB.
    floor = 45.0 if "bf16" in renderer.stage_precisions.values() else 80.0
    rest = renderer.render_tensor(Pose().as_array()).clone()
    for name, values in GROUPS.items():
        ours = renderer.render_tensor(Pose.from_dict(values).as_array())
        torch_fp32, theirs = references[name]
        assert ours.shape == (1, 4, 512, 512) and ours.dtype == torch.float32
        assert psnr(ours, torch_fp32) >= floor, f"{engine} {name}: {psnr(ours, torch_fp32):.1f} dB vs torch fp32"
        assert psnr(ours, theirs) >= floor, f"{engine} {name}: {psnr(ours, theirs):.1f} dB vs the reference"
        # The pose group really moved the picture (a frame stuck at the rest pose would fail here).
        assert (ours - rest).abs().amax(dim=1).gt(0.2).sum() > 50


@pytest.mark.parametrize("engine", ENGINES[1:])
def test_stage_skipping_on_each_engine_equals_its_full_recompute(engine, engines, sample_rgba):
    renderer = engines[engine]
    sequence = [
        (Pose.from_dict({"mouth_aaa": 1.0, "head_y": 0.5}), ("rotate", "edit")),
        (Pose.from_dict({"mouth_aaa": 0.2, "head_y": 0.5, "body_z": -0.3}), ("morph_face", "rotate", "edit")),
        (Pose.from_dict({"eyebrow_angry_left": 1.0, "mouth_aaa": 0.2}), ("morph_eyebrows", "morph_face", "rotate",
                                                                          "edit")),
    ]
    renderer.render_tensor(Pose.from_dict({"mouth_aaa": 1.0}).as_array())
    for pose, expected in sequence:
        cached = renderer.render_tensor(pose.as_array()).clone()
        assert renderer.last_stages_run == expected
        renderer.set_character(sample_rgba)  # empties the cache: all five stages run
        full = renderer.render_tensor(pose.as_array())
        assert renderer.last_stages_run == ("decompose", "morph_eyebrows", "morph_face", "rotate", "edit")
        assert torch.equal(cached, full), f"{engine}: {psnr(cached, full):.1f} dB"
    # A frame handed out is the caller's: the next render does not overwrite it.
    kept = renderer.render_tensor(Pose.from_dict({"head_x": 0.4}).as_array())
    copy = kept.clone()
    renderer.render_tensor(Pose.from_dict({"head_x": -0.4}).as_array())
    assert torch.equal(kept, copy)


def test_auto_says_what_it_chose_and_why(engines, auto_lines):
    # conftest.py measured this machine's plan at the start of the session: it is read back, and said so.
    assert len(auto_lines) == 1
    assert auto_lines[0].startswith("engine: openvino (auto: CPU, the fastest CPU engine")
    assert "precision " in auto_lines[0] and "(read from the cache, measured on this machine on 20" in auto_lines[0]
    assert engines["auto"].engine == "openvino"
    assert choose_engine("auto", "cuda", "tha3").engine == "torch"
    assert choose_engine("auto", "cpu", "tha2").engine == "torch"


def test_loading_asks_for_the_engine_once(tha3_weights_dir, monkeypatch):
    # `auto` asks every installed engine for its devices; the early check before the weight load is reused.
    asked = []
    monkeypatch.setattr(renderer_module, "choose_engine", lambda *args: asked.append(args) or choose_engine(*args))
    renderer = Renderer.load(weights_dir=tha3_weights_dir, engine="auto", say=lambda line: None)
    assert asked == [("auto", "cpu", "tha3")] and renderer.engine == "openvino"


def test_load_poser_keeps_its_tensor_contract_on_openvino(tha3_weights_dir, sample_rgba, engines):
    from vtube_plugin.render.convert import rgba_to_tensor

    poser = load_poser(weights_dir=tha3_weights_dir, engine="openvino", precision="fp32")
    image = rgba_to_tensor(sample_rgba)
    pose = torch.from_numpy(Pose.from_dict({"head_y": 0.5, "mouth_ooo": 0.6}).as_array()).unsqueeze(0)
    out = poser.pose(image, pose)
    assert out.shape == (1, 4, 512, 512) and out.dtype == torch.float32
    assert torch.equal(out, engines["openvino fp32"].render_tensor(pose[0].numpy()))


def test_the_export_is_reused_and_rebuilt_when_its_key_changes(tha3_weights_dir, tmp_path, monkeypatch):
    network = load_network("tha3", tha3_weights_dir)
    lines: list[str] = []
    stage = ("morph_face",)  # the quickest stage to export: the cache logic is the same for all four
    first = export.ensure_exported(network, tha3_weights_dir, engine_label="OpenVINO", root=tmp_path,
                                   say=lines.append, stages=stage)
    assert (first / "morph_face.onnx").stat().st_size > 1_000_000
    assert lines[0].startswith("preparing the OpenVINO engine once (~")
    made = (first / "morph_face.onnx").stat().st_mtime_ns
    lines.clear()
    again = export.ensure_exported(network, tha3_weights_dir, engine_label="OpenVINO", root=tmp_path,
                                   say=lines.append, stages=stage)
    assert again == first and lines == [] and (first / "morph_face.onnx").stat().st_mtime_ns == made
    # Our code changing (here: the export version) or a weight file being replaced gives a new key.
    monkeypatch.setattr(export, "EXPORT_VERSION", export.EXPORT_VERSION + 1)
    rebuilt = export.ensure_exported(network, tha3_weights_dir, engine_label="OpenVINO", root=tmp_path,
                                     say=lines.append, stages=stage)
    assert rebuilt != first and (rebuilt / "morph_face.onnx").is_file() and lines[0].startswith("preparing")
    copied = tmp_path / "weights"
    copied.mkdir()
    for weight in network.weights.values():
        (copied / weight.name).write_bytes((tha3_weights_dir / weight.name).read_bytes())
    assert export.export_key(network, copied) != export.export_key(network, tha3_weights_dir)
    assert export.export_key(network, tha3_weights_dir, "fp16") != export.export_key(network, tha3_weights_dir)
    assert (export.export_key(network, tha3_weights_dir, upsampling="plain")
            != export.export_key(network, tha3_weights_dir))


def test_each_engine_runs_the_upsampling_it_is_fastest_with(engines):
    """OpenVINO in fp32 gets the upsampling folded into depthwise transposed convs (nn.blocks.upsample_then); ONNX
    Runtime, whose CPU provider runs those slowly, the plain resize and concatenation; bf16 the split form, with
    neither a depthwise transposed conv nor a concatenation of feature maps. All give the same frames
    (test_engine_matches_torch_fp32_and_the_reference_on_every_pose_group)."""
    import onnx

    def ops(name: str, stage: str) -> Counter:
        folder = engines[name].stages.folders[engines[name].stages.plan[stage].form]
        return Counter(node.op_type for node in onnx.load(str(folder / f"{stage}.onnx")).graph.node)

    folded, plain, split = (ops(name, "edit") for name in ("openvino fp32", "onnxruntime fp32", "openvino bf16"))
    # The editor's three nearest upsamplings (its bilinear resizes of the rotator's output stay in all).
    assert folded["ConvTranspose"] == 3 and plain["ConvTranspose"] == 0 and split["ConvTranspose"] == 0
    assert plain["Resize"] == folded["Resize"] + 3 == split["Resize"]
    assert plain["Concat"] > split["Concat"]
    # The face morpher's own three transposed convs, each four phase convs and a pixel shuffle when split.
    face_plain, face_split = ops("onnxruntime fp32", "morph_face"), ops("openvino bf16", "morph_face")
    assert face_plain["ConvTranspose"] == 3 and face_split["ConvTranspose"] == 0
    assert face_split["DepthToSpace"] == 3 and face_split["Conv"] == face_plain["Conv"] + 12
    assert len({engines[name].stages.folder for name in ("openvino fp32", "onnxruntime fp32", "openvino bf16")}) == 3


# (what the user asked for, words of the answer): engine, precision and device mixes that cannot run.
REFUSED = [
    ((choose_engine, "openvino", "cuda", "tha3"), "runs on the CPU"),
    ((choose_engine, "onnxruntime", "cpu", "tha2"), "runs THA3 only"),
    ((choose_engine, "openvino-gpu", "cuda", "tha3"), "takes --device cpu"),
    ((choose_engine, "openvino-gpu", "cpu", "tha2"), "runs THA3 only"),
    ((fixed_plan, "openvino", "fp16", "cpu"), "fp16 is for --engine torch"),
    ((fixed_plan, "onnxruntime", "bf16", "cpu"), "use --precision fp32"),
    ((fixed_plan, "openvino-gpu", "bf16", "cpu"), "runs fp16 or fp32"),
]


@pytest.mark.parametrize(("call", "words"), REFUSED, ids=[" ".join(c[1:]) for c, _ in REFUSED])
def test_what_cannot_run_is_said(call, words):
    function, *args = call
    with pytest.raises(UserError, match=words):
        function(*args)


def test_engine_mistakes_are_explained(tha3_weights_dir, monkeypatch):
    with pytest.raises(UserError, match="unknown engine 'vulkan'"):
        Renderer.load(weights_dir=tha3_weights_dir, engine="vulkan")
    # An engine that is not installed names the pip command (this venv has both, so hide one).
    from vtube_plugin.render import engine as engine_module

    monkeypatch.setattr(engine_module, "installed", lambda name: name == "torch")
    with pytest.raises(UserError, match=r"OpenVINO is not installed\. Install it with `pip install openvino`"):
        Renderer.load(weights_dir=tha3_weights_dir, engine="openvino")
    with pytest.raises(UserError, match=r"vtube-plugin\[onnxruntime\]"):
        choose_engine("onnxruntime", "cpu", "tha3")
    assert choose_engine("auto", "cpu", "tha3").engine == "torch"
    assert "pip install openvino" in choose_engine("auto", "cpu", "tha3").reason


def test_the_cli_offers_the_engines():
    import argparse

    from vtube_plugin.cli.common import add_renderer_options, render_settings_from_args

    parser = argparse.ArgumentParser()
    add_renderer_options(parser)
    settings = render_settings_from_args(parser.parse_args([]))
    assert (settings.engine, settings.precision) == ("auto", "auto")
    settings = render_settings_from_args(parser.parse_args(["--engine", "onnxruntime", "--precision", "fp32"]))
    assert (settings.engine, settings.precision) == ("onnxruntime", "fp32")
    with pytest.raises(SystemExit):
        parser.parse_args(["--engine", "vulkan"])
    assert render_settings_from_args(parser.parse_args(["--engine", "openvino-gpu"])).engine == "openvino-gpu"


def test_the_intel_gpu_engine_says_what_it_needs_and_runs_fp16_by_default(tmp_path):
    """No Intel GPU exists on the project's machines: what runs here is OpenVINO's own device list, the
    refusal a user without one gets (from the real command) and the precision plan; the docs say so."""
    import os
    import subprocess
    import sys

    from conftest import ROOT

    from vtube_plugin.render.engine import openvino_gpus

    assert plan_precisions(fixed_plan("openvino-gpu", "auto", "cpu")) == dict.fromkeys(FRAME_STAGES, "fp16")
    assert plan_precisions(fixed_plan("openvino-gpu", "fp32", "cpu")) == dict.fromkeys(FRAME_STAGES, "fp32")
    if openvino_gpus():  # a machine with an Intel GPU: the engine is there to use
        assert choose_engine("openvino-gpu", "cpu", "tha3").engine == "openvino-gpu"
        assert "try --engine openvino-gpu" in choose_engine("auto", "cpu", "tha3").reason
        return
    assert "openvino-gpu" not in choose_engine("auto", "cpu", "tha3").reason
    result = subprocess.run([sys.executable, "-m", "vtube_plugin", "demo", "--engine", "openvino-gpu",
                             "-o", str(tmp_path / "demo.mp4")], capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--engine openvino-gpu: OpenVINO finds no Intel GPU here (it sees: CPU)" in result.stderr
    assert "intel-opencl-icd" in result.stderr and not (tmp_path / "demo.mp4").exists()


def test_the_intel_gpu_settings_compile_on_the_auto_device_as_a_stand_in(tha3_weights_dir, sample_rgba, engines,
                                                                         tmp_path):
    """The settings --engine openvino-gpu compiles with (no thread count, a kernel cache, the fp16 hint), given
    to OpenVINO's AUTO device over the CPU: a stand-in for the Intel GPU no machine of ours has. A CPU has no
    fp16: one without native bf16 computes in f32, so the frames must equal the CPU engine's; one with it (AVX-512
    BF16, AMX) computes the f16 hint in bf16, which must hold the 45 dB every plan holds. The kernel cache is
    written either way."""
    network = load_network("tha3", tha3_weights_dir)
    folder = tmp_path / "export"
    folder.mkdir()
    for item in engines["openvino fp32"].stages.folder.glob("*.onnx"):
        (folder / item.name).symlink_to(item)
    stages = OpenVINOStages(network, {"folded": folder}, dict.fromkeys(FRAME_STAGES, StageChoice("fp16")),
                            torch.get_num_threads(), target="AUTO:CPU")
    renderer = Renderer(network, "cpu", "auto", engine=stages.label, stages=stages)
    renderer.set_character(sample_rgba)
    assert renderer.engine == "openvino-gpu"
    pose = Pose.from_dict(GROUPS["head_body"]).as_array()
    bound = 45.0 if cpu_has_native_bf16("openvino") else 80.0
    assert psnr(renderer.render_tensor(pose), engines["openvino fp32"].render_tensor(pose)) > bound
    assert any((folder / "openvino-gpu-cache").iterdir())


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_graphs_match_eager_and_skip_stages(tha3_weights_dir, sample_rgba, engines):
    from vtube_plugin.render.convert import tensor_to_rgba

    graphs = Renderer.load(weights_dir=tha3_weights_dir, device="cuda", precision="fp16")
    assert graphs.engine == "torch+cuda-graphs"
    graphs.set_character(sample_rgba)
    reference = engines["torch fp32"]
    for name, values in GROUPS.items():
        pose = Pose.from_dict(values)
        frame = graphs.render_tensor(pose.as_array())
        assert psnr(frame, reference.render_tensor(pose.as_array())) >= 35.0, name
        rgba = graphs.render(pose)  # unchanged pose: no stage runs, the pinned copy still holds this frame
        assert graphs.last_stages_run == ()
        assert np.abs(rgba.astype(int) - tensor_to_rgba(frame.cpu()).astype(int)).max() <= 1
    cached = graphs.render_tensor(Pose.from_dict({"head_y": 0.3, "breathing": 0.6}).as_array()).clone()
    assert graphs.last_stages_run == ("rotate", "edit")
    graphs.set_character(sample_rgba)
    full = graphs.render_tensor(Pose.from_dict({"head_y": 0.3, "breathing": 0.6}).as_array())
    assert psnr(cached, full) >= 60.0
