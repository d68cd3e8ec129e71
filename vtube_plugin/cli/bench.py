"""`vtube-plugin bench`: ms per frame for ours and the reference THA3 in one interleaved run."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    p = sub.add_parser("bench", help="measure ms per frame, each engine beside the authors' reference implementation",
                       description="Renders the same poses with each of our engines and precisions and with the "
                                   "reference (tha3 0.1.9, run in its own process), in turn frame by frame, for a "
                                   "sequence where every pose group changes and one where only the head moves. On "
                                   "a CPU it also prints the fp32 floor: the frame's arithmetic at this CPU's "
                                   "matrix-multiply peak, which no fp32 engine can beat.")
    p.add_argument("--frames", type=int, default=10, help="timed frames per sequence (default: 10)")
    p.add_argument("--warmup", type=int, default=2, help="untimed frames first (default: 2)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    p.add_argument("--engines", metavar="LIST", default=None,
                   help="ENGINE[:PRECISION],... e.g. openvino:auto,torch:fp32 (default: every installed engine in "
                        "fp32 and in its auto precision; torch fp32 and fp16 on CUDA)")
    p.add_argument("--character", metavar="IMG", default=None, help="character image (default: the sample)")
    p.add_argument("--no-reference", dest="reference", action="store_false",
                   help="time ours only; speed-up and PSNR are then against the first engine")
    p.add_argument("--tune-reference-allocator", action="store_true",
                   help="give the reference our glibc allocator settings too (to see what the rest of our work buys)")
    p.add_argument("--retune", action="store_true",
                   help="measure again which precision and form of each stage runs fastest on this CPU (what "
                        "--precision auto uses; measured once on the first start and kept in the cache), then bench")
    p.add_argument("--encode", action="store_true",
                   help="instead: what each output (browser PNG, video file, virtual camera) costs per frame, "
                        "beside the render time (docs/performance.md)")
    p.add_argument("--live", action="store_true",
                   help="instead: replay a tracking stream over loopback UDP through the live pipeline and report "
                        "render fps, output fps and latency (p50/p95)")
    p.add_argument("--soak", metavar="MINUTES", type=float, default=None,
                   help="instead: a whole stream with everything on (a real `run` with a replayed phone, idle life, "
                        "lip sync from a sound file, the browser output and its viewer, a recording, VMC out) for "
                        "MINUTES, reporting memory, files, threads, fps, latency and datagrams every minute")
    p.add_argument("--soak-warmup", metavar="SECONDS", type=float, default=120.0,
                   help="--soak: what memory, files and threads at the end are compared with: their value this long "
                        "after the first frame (default: 120)")
    p.add_argument("--seconds", type=float, default=20.0, help="--live: seconds of tracking to replay (default: 20)")
    p.add_argument("--fps", type=float, default=30.0, help="--live: output frame rate (default: 30)")
    p.add_argument("--size", metavar="WxH", default=None,
                   help="--live: the output's size, as run's --size (default: the renderer's, 512x512; a virtual "
                        "camera for video calls is often 1280x720)")
    p.add_argument("--rounds", type=int, default=1,
                   help="--live: run the --smooth modes in turn this many times and report the median of each "
                        "(on a shared machine, so a slow minute falls on every mode alike; default: 1)")
    p.add_argument("--smooth", metavar="LIST", default="off,interpolate,extrapolate",
                   help="--live: the --smooth modes to run in turn (default: off,interpolate,extrapolate)")
    p.add_argument("--engine", default="auto",
                   help="--live, --soak and --encode: the engine to render with (default: auto)")
    p.add_argument("--precision", default="auto", help="--live, --soak and --encode: its precision (default: auto)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from vtube_plugin.bench.run import parse_engines, run_benchmark
    from vtube_plugin.errors import UserError

    if args.soak is not None:
        from vtube_plugin.bench.soak import run_soak

        if not args.soak > 0 or not 0 < args.fps <= 240 or args.soak_warmup < 0:
            raise UserError("--soak must be above 0 minutes, --soak-warmup 0 or more and --fps between 0 and 240")
        result = run_soak(args.soak, fps=args.fps, engine=args.engine, precision=args.precision,
                          warmup=args.soak_warmup)
        return 0 if result["exit_code"] == 0 else 1
    if args.live:
        from vtube_plugin.bench.live import live_benchmark
        from vtube_plugin.live.smooth_modes import check_mode

        if not args.seconds > 0 or not 0 < args.fps <= 240 or not 1 <= args.rounds <= 100:
            raise UserError("--seconds must be above 0, --fps between 0 and 240 and --rounds between 1 and 100")
        from vtube_plugin.sinks.compose import parse_size

        modes = tuple(check_mode(mode.strip()) for mode in args.smooth.split(",") if mode.strip())
        size = parse_size(args.size) if args.size else None
        live_benchmark(device=args.device, engine=args.engine, precision=args.precision, character=args.character,
                       seconds=args.seconds, fps=args.fps, size=size, smooth=modes or ("off",), rounds=args.rounds)
        return 0
    if args.frames < 1 or args.warmup < 0:
        raise UserError("--frames must be at least 1 and --warmup at least 0")
    if args.encode:
        from vtube_plugin.bench.encode import run_encode_benchmark

        run_encode_benchmark(frames=args.frames, warmup=args.warmup, device=args.device, engine=args.engine,
                             precision=args.precision, character=args.character)
        return 0
    engines = parse_engines(args.engines) if args.engines is not None else None
    run_benchmark(frames=args.frames, warmup=args.warmup, device=args.device, engines=engines,
                  reference=args.reference, tune_reference_allocator=args.tune_reference_allocator,
                  character=args.character, retune=args.retune)
    return 0
