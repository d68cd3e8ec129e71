"""`vtube-plugin bench --live`: a replayed phone's iFacialMocap datagrams over loopback UDP through the real source,
mapper and live loop. With a stand-in renderer of known speed (50 ms a frame) the report must show what that
pipeline does: every datagram received, the output at its frame rate, renders no faster than the renderer
allows, and a latency of at least one render. Nothing is asserted on the speed of this machine.
"""

from __future__ import annotations

import time

import numpy as np

from vtube_plugin.bench.live import run_live_benchmark


class FiftyMillisecondRenderer:
    size = 64

    def __init__(self):
        self.poses = []

    def render(self, pose):
        time.sleep(0.05)
        self.poses.append(pose)
        return np.zeros((64, 64, 4), np.uint8)


def test_the_live_benchmark_replays_tracking_through_the_pipeline():
    lines: list[str] = []
    renderer = FiftyMillisecondRenderer()
    # A wider output than the frame, as a virtual camera for video calls: the frame is scaled into it.
    result = run_live_benchmark(renderer=renderer, seconds=3.0, fps=30.0, size=(128, 96), say=lines.append)

    assert result["datagrams_sent"] >= 120  # about 60 a second for 3 s
    assert result["datagrams_received"] == result["datagrams_sent"] and result["dropped"] == 0
    # every frame rendered went out, but for the last ones: one done but not yet handed over and one still
    # being rendered when the replay ended
    assert result["rendered"] <= len(renderer.poses) <= result["rendered"] + 2
    assert result["render_fps"] < 21  # 50 ms a frame at best
    assert result["output_fps"] > 18  # asked for 30; generous for a shared machine
    assert result["latency_p50_ms"] >= 50 and result["latency_p95_ms"] >= result["latency_p50_ms"]
    # What the pipeline adds to each frame's own render (>= 50 ms each): every latency holds one render more.
    assert 0 <= result["beyond_render_p95_ms"] <= result["latency_p95_ms"] - 50 + 1e-6
    # the replayed face moves: the mouth opens and closes over the take
    mouths = [pose["mouth_aaa"] for pose in renderer.poses]
    assert max(mouths) - min(mouths) > 0.3
    assert lines[0].startswith("live: 3 s of iFacialMocap") and "128x96" in lines[0] and "latency p95" in lines[1]
    assert lines[3].startswith("beyond each frame's own render (tracking age + wait for the output): p95 ")
    assert "one output frame period (33 ms)" in lines[3]


class SlidingSquareRenderer:
    """150 ms a frame; an opaque square that slides with the replayed mouth (it opens and closes)."""

    size = 64

    def __init__(self):
        self.renders = 0

    def render(self, pose):
        time.sleep(0.15)
        self.renders += 1
        rgba = np.zeros((64, 64, 4), np.uint8)
        left = 10 + round(30 * pose["mouth_aaa"])
        rgba[20:44, left:left + 16] = (200, 120, 60, 255)
        rgba[28:36, left + 4:left + 12, :3] = 30  # some texture for the flow to follow
        return rgba


def test_the_live_benchmark_reports_distinct_frames_and_the_latency_each_smoothing_mode_adds():
    from vtube_plugin.bench.live import smoothing_table

    renderer = SlidingSquareRenderer()
    results = [run_live_benchmark(renderer=renderer, seconds=2.5, fps=30.0, say=lambda line: None, smooth=mode)
               for mode in ("off", "interpolate")]
    off, interpolate = results
    assert off["smooth"] == "off" and interpolate["smooth"] == "interpolate"
    assert off["distinct_fps"] <= off["render_fps"] * 1.2 + 0.5  # repeats: no more new pictures than renders
    assert interpolate["distinct_fps"] > interpolate["render_fps"] * 1.5  # the frames in between are new
    # Interpolation shows each render after the next has landed: about one render interval later.
    assert interpolate["held_back_p50_ms"] > off["held_back_p50_ms"] + 50
    table = smoothing_table(results)
    assert table[0].split() == ["--smooth", "render", "fps", "distinct", "fps", "latency", "p50", "p95", "adds",
                                "(p50)"]
    assert table[1].split()[0] == "off" and table[1].endswith("+0 ms")
    assert table[2].split()[0] == "interpolate" and int(table[2].split()[-2]) >= 50  # e.g. "+150 ms"


def test_the_latency_a_mode_adds_is_its_wait_for_the_outputs_not_how_fast_its_renders_were():
    from vtube_plugin.bench.live import smoothing_table

    def run(mode, p50, held):
        return {"smooth": mode, "render_fps": 5.0, "distinct_fps": 29.0, "latency_p50_ms": p50,
                "latency_p95_ms": p50 + 20, "held_back_p50_ms": held}

    # Extrapolate's renders were slower in its run (latency +40 ms), but each went out as soon as off's did.
    table = smoothing_table([run("off", 200.0, 16.0), run("interpolate", 420.0, 215.0),
                             run("extrapolate", 240.0, 15.0), run("extrapolate", 240.0, 15.8)])
    assert table[1].endswith("+0 ms") and table[2].endswith("+199 ms") and table[3].endswith("-1 ms")
    assert table[4].endswith(" +0 ms")  # a wait a fraction of a ms shorter is not "-0"


def test_extrapolating_counts_every_render_even_one_shown_only_in_the_frames_made_ahead_of_it():
    # Extrapolating, a render whose flows are ready before its first output frame never shows as it is: the
    # frames go on ahead of it at once. It reached the outputs all the same, and renders/s must count it.
    renderer = SlidingSquareRenderer()
    result = run_live_benchmark(renderer=renderer, seconds=3.0, fps=30.0, say=lambda line: None, smooth="extrapolate")
    assert result["distinct_fps"] > result["render_fps"] * 1.5  # it did extrapolate
    # every render but the last two (one not yet handed over, one in progress when the replay ended)
    assert renderer.renders - 2 <= result["rendered"] <= renderer.renders


def test_the_renders_the_live_loop_keeps_are_measured_against_renders_back_to_back():
    from vtube_plugin.bench.live import back_to_back_ms, keep_share, render_share_line

    renderer = FiftyMillisecondRenderer()
    alone = back_to_back_ms(renderer, renders=5)
    assert 50 <= alone < 80  # a 50 ms renderer, timed one render after another
    mouths = [pose["mouth_aaa"] for pose in renderer.poses]
    assert len(mouths) == 5 and max(mouths) - min(mouths) > 0.3  # the replay's own motion, not one pose
    result = keep_share({"smooth": "off", "render_fps": 10.0, "render_ms": 55.0}, 50.0)
    assert result["render_share"] == 0.5 and result["back_to_back_ms"] == 50.0
    line = render_share_line(result)
    assert line == ("--smooth off: 10.0 renders/s live of 20.0 back to back (50 ms each) = 50 %; one render took "
                    "55 ms live")


def test_rounds_of_the_modes_in_turn_are_reported_as_the_median_of_each_mode():
    from vtube_plugin.bench.live import median_per_mode

    def run(mode, fps, p50):
        return {"smooth": mode, "render_fps": fps, "latency_p50_ms": p50, "seconds": 20.0}

    merged = median_per_mode([run("off", 5.0, 200.0), run("interpolate", 4.0, 400.0), run("off", 3.0, None),
                              run("interpolate", 4.6, 420.0), run("off", 5.2, 210.0), run("interpolate", 1.0, 500.0)])
    assert [m["smooth"] for m in merged] == ["off", "interpolate"] and [m["rounds"] for m in merged] == [3, 3]
    assert merged[0]["render_fps"] == 5.0 and merged[1]["render_fps"] == 4.0  # a slow round does not drag it down
    assert merged[0]["latency_p50_ms"] is None  # a run without a latency: no median made up from the others
    assert merged[1]["latency_p50_ms"] == 420.0 and merged[1]["seconds"] == 20.0


def test_the_share_kept_is_taken_round_by_round_so_a_machine_that_slows_down_does_not_count_against_the_loop():
    from vtube_plugin.bench.live import keep_share, median_per_mode, render_share_line

    # The machine halves its speed between rounds; live, the loop keeps 90 % of what the renderer could do then.
    rounds = [keep_share({"smooth": "off", "render_fps": 9.0, "render_ms": 105.0}, 100.0),
              keep_share({"smooth": "off", "render_fps": 4.5, "render_ms": 210.0}, 200.0),
              keep_share({"smooth": "off", "render_fps": 6.0, "render_ms": 160.0}, 150.0)]
    merged = median_per_mode(rounds)[0]
    assert merged["render_share"] == 0.9  # against the first round's 100 ms alone it would read 6.0 / 10 = 60 %
    assert render_share_line(merged) == ("--smooth off: 6.0 renders/s live of 6.7 back to back (150 ms each) = 90 %; "
                                         "one render took 160 ms live")


def test_bench_live_refuses_rounds_it_cannot_run(capsys):
    from vtube_plugin.cli import main

    assert main(["bench", "--live", "--rounds", "0"]) != 0
    assert "--rounds between 1 and 100" in capsys.readouterr().err
    assert main(["bench", "--live", "--size", "1280"]) != 0
    assert "size '1280' is not WIDTHxHEIGHT" in capsys.readouterr().err
