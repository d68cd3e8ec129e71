"""`vtube-plugin run`: stream the character live, driven by a face tracker, to a virtual camera, a window or a file."""

from __future__ import annotations

import argparse
import sys

from vtube_plugin.cli.common import add_renderer_options, render_settings_from_args
from vtube_plugin.cli.expression_options import add_expression_options, expression_settings_from_args
from vtube_plugin.cli.life_options import add_life_options, lip_sync_settings_from_args
from vtube_plugin.cli.tracking import add_source_options, source_options


def add_parser(subparsers) -> None:
    from vtube_plugin.live.smooth_modes import DEFAULT as SMOOTH_DEFAULT
    from vtube_plugin.live.smooth_modes import MODES as SMOOTH_MODES
    from vtube_plugin.sinks.choose import OUTPUT_HELP

    p = subparsers.add_parser(
        "run",
        help="stream the character live from a face tracker",
        description="Stream the character live: tracking -> profile -> pose -> renderer -> virtual camera, preview "
                    "window or video file. Ctrl+C stops. Type c + Enter to calibrate your neutral face.",
    )
    p.add_argument("--character", metavar="IMG", default=None,
                   help="the character picture, 512x512 RGBA (default: the sample character from `models fetch`)")
    add_source_options(p)
    out = p.add_argument_group("output")
    out.add_argument("--output", action="append", metavar="OUT", default=None,
                     help=f"{OUTPUT_HELP} (default: browser, the transparent page for OBS's Browser Source)")
    out.add_argument("--size", metavar="WxH", default=None,
                     help="output size; the square frame is letterboxed into it (default: the renderer's, 512x512)")
    out.add_argument("--fps", type=float, default=30.0, help="output frame rate (default: 30)")
    out.add_argument("--background", default="#00ff00",
                     help="what shows through transparent pixels: a colour (#00ff00 chroma-key green by default; "
                          "r,g,b; or a name: lime, blue, magenta, black...) or an image file")
    out.add_argument("--pixel-format", choices=["rgb", "bgr"], default="rgb",
                     help="virtual camera pixel format (default: rgb)")
    out.add_argument("--virtualcam-device", default=None,
                     help="which virtual camera, e.g. /dev/video4 (default: the first one found)")
    live = p.add_argument_group("live")
    live.add_argument("--record-poses", metavar="FILE.jsonl", default=None,
                      help="write one JSON line per rendered frame: time, the 45 pose values and latency_ms")
    live.add_argument("--max-frames", type=int, default=None,
                      help="stop after this many rendered frames (the outputs repeat the newest one in between)")
    live.add_argument("--smooth", choices=list(SMOOTH_MODES), default=SMOOTH_DEFAULT,
                      help="while the renderer is slower than --fps, the frames between two renders: made from the "
                           "motion between them (interpolate: smoothest, about one render later), ahead of the newest "
                           "along its motion (extrapolate: no added latency), or the newest repeated (off) "
                           f"(default: {SMOOTH_DEFAULT}; docs/streaming.md)")
    live.add_argument("--lost-after", type=float, default=0.75,
                      help="seconds without tracking data before the pose eases back to neutral (default: 0.75)")
    live.add_argument("--studio-settings", action="store_true",
                      help="start from what you set in `vtube-plugin studio` (source, profile, character, idle life, "
                           "lip sync, virtual camera, VMC out), saved in your config folder, instead of those "
                           "options; what you change while running is saved there too")
    live.add_argument("--no-calibration", action="store_true",
                      help="ignore the stored neutral-face calibration (and take none from the first steady seconds)")
    vmc_out = p.add_argument_group("VMC out (docs/input-vmc-out.md)")
    vmc_out.add_argument("--send-vmc", metavar="HOST:PORT", default=None,
                         help="also send what is tracked over VMC to another app (VSeeFace, VNyan, Warudo, another "
                              "vtube-plugin), e.g. 127.0.0.1:39539")
    vmc_out.add_argument("--send-vmc-rate", metavar="HZ", type=float, default=60.0,
                         help="frames a second sent at most, whatever --fps is (default: 60)")
    vmc_out.add_argument("--send-vmc-names", choices=["both", "arkit", "vrm"], default="both",
                         help="blendshape names sent: Perfect Sync (arkit), VRM presets (vrm) or both (default)")
    add_life_options(p)
    add_expression_options(p)
    add_renderer_options(p)
    p.set_defaults(run=run)


def config_from_args(args: argparse.Namespace):
    """The LiveConfig the options describe (nothing is opened or loaded)."""
    from vtube_plugin.live.session import LiveConfig
    from vtube_plugin.sinks.compose import parse_size

    return LiveConfig(
        source=args.source, source_options=source_options(args), profile=args.profile, character=args.character,
        outputs=tuple(args.output or ["browser"]), size=parse_size(args.size) if args.size else None,
        fps=args.fps, background=args.background, pixel_format=args.pixel_format,
        virtualcam_device=args.virtualcam_device, record_poses=args.record_poses, max_frames=args.max_frames,
        lost_after=args.lost_after, use_calibration=not args.no_calibration, send_vmc=args.send_vmc,
        send_vmc_rate=args.send_vmc_rate, send_vmc_names=args.send_vmc_names,
        render=render_settings_from_args(args), expressions=expression_settings_from_args(args),
        idle=args.idle, idle_seed=args.idle_seed, lip_sync=lip_sync_settings_from_args(args), smooth=args.smooth)


def run(args: argparse.Namespace) -> int:
    from vtube_plugin.audio.lip_sync import parse_input
    from vtube_plugin.live.running import run_live

    if parse_input(args.lip_sync)[0] == "list":
        from vtube_plugin.audio.capture import describe_devices

        print(describe_devices())
        return 0
    config, saved = config_from_args(args), None
    if args.studio_settings:
        from vtube_plugin.live.saved_settings import load_saved_settings

        saved = load_saved_settings()
        config = saved.apply_to(config)
    from vtube_plugin.live.console_writer import ConsoleWriter

    # The last line goes through the stream's console writer too: a console that does not read cannot keep the
    # command from ending (it waits a moment for it, then ends).
    with ConsoleWriter(sys.stderr) as writer:
        summary = run_live(config, console_writer=writer, saved=saved)
        latency = summary.latency_ms(50)
        latency_text = ("" if latency is None
                        else f", latency {latency:.0f}/{summary.latency_ms(95):.0f} ms (median/p95)")
        distinct = "" if summary.smooth == "off" else f", {summary.distinct_fps:.1f} distinct"
        held = summary.held_back_ms(50) if summary.smooth == "interpolate" else None
        if held is not None:  # what interpolation costs in latency, said where the latency is
            latency_text += f"; interpolation shows each render {held:.0f} ms after it is done (median)"
        writer.message(f"stopped ({summary.stopped_by}) after {summary.frames} frames, {summary.fps:.1f} fps on "
                       f"average (rendered; the outputs got {summary.output_fps:.1f} fps{distinct}){latency_text}")
    return 0
