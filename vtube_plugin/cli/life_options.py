"""`run` options for a character alive without tracking: idle life (--idle) and lip sync from a voice (--lip-sync)."""

from __future__ import annotations

import argparse

from vtube_plugin.audio.lip_sync import INPUT_HELP, MODES


def add_life_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("idle life and lip sync (docs/idle-life.md, docs/lip-sync.md)")
    group.add_argument("--idle", metavar="on|off|FILE", default="on",
                       help="blinking, breathing, a gentle sway and wandering eyes wherever tracking does not drive "
                            "them: on (default: <user config>/vtube-plugin/idle.toml if it exists, else the shipped "
                            "profiles/idle.toml), off, or a settings file")
    group.add_argument("--idle-seed", metavar="N", type=int, default=None,
                       help="the same blinks and sways every run (default: the file's seed, else random)")
    group.add_argument("--lip-sync", metavar="INPUT", default="off",
                       help=f"the mouth follows a voice: {INPUT_HELP} (prints the microphones and exits)")
    group.add_argument("--lip-sync-loop", action="store_true",
                       help="with file:PATH, play the file again and again instead of once (a long test)")
    group.add_argument("--lip-sync-mode", choices=MODES, default="auto",
                       help="auto (default): the voice drives the mouth while you talk, tracking in the pauses; "
                            "audio: the voice only; tracking: the tracker only; max: whichever opens it more")
    group.add_argument("--lip-sync-gain", metavar="G", type=float, default=1.0,
                       help="how wide the mouth opens for the same loudness (default 1)")
    group.add_argument("--lip-sync-open-only", action="store_true",
                       help="only open and close the mouth (mouth_aaa), no vowel shapes")


def lip_sync_settings_from_args(args: argparse.Namespace):
    from vtube_plugin.audio.lip_sync import LipSyncSettings
    from vtube_plugin.audio.voice import VoiceSettings

    return LipSyncSettings(input=args.lip_sync, mode=args.lip_sync_mode, loop=args.lip_sync_loop,
                           voice=VoiceSettings(gain=args.lip_sync_gain, open_only=args.lip_sync_open_only))
