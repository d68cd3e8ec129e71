"""What a live session is made of, as one typed `LiveConfig` (source, profile, character, outputs, idle life, lip
sync, expressions, renderer), and the session's mapper. `vtube-plugin run` fills the config from its options, the
studio from the saved settings; live/running.py assembles and runs the session from it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from vtube_plugin.audio.lip_sync import LipSyncSettings
from vtube_plugin.errors import UserError
from vtube_plugin.live.expression_inputs import ExpressionSettings
from vtube_plugin.live.smooth_modes import DEFAULT as SMOOTH_DEFAULT
from vtube_plugin.live.smooth_modes import check_mode
from vtube_plugin.render.settings import RenderSettings


@dataclass
class LiveConfig:
    source: str = "none"  # a name registered in vtube_plugin.sources
    source_options: dict[str, object] = field(default_factory=dict)
    profile: str | None = None  # a bundled or user profile name, or a .toml path; None: the source's own default
    character: str | None = None  # None: the sample character from `models fetch`
    outputs: tuple[str, ...] = ("browser",)  # what --output takes (sinks.choose); the page keeps alpha on every OS
    size: tuple[int, int] | None = None  # None: the renderer's own square frame
    fps: float = 30.0
    background: str = "#00ff00"  # a colour or an image file, behind transparent pixels
    pixel_format: str = "rgb"  # virtual camera: rgb or bgr
    virtualcam_device: str | None = None
    virtualcam_backend: str | None = None  # pyvirtualcam's backend by name (None: the first that works here)
    record_poses: str | None = None  # a .jsonl path: one line per rendered frame
    max_frames: int | None = None
    lost_after: float = 0.75  # seconds without tracking before the pose eases back
    use_calibration: bool = True  # subtract the neutral face stored for this source and profile
    send_vmc: str | None = None  # HOST:PORT: forward what we track over VMC (sources/vmc_send.py)
    send_vmc_rate: float = 60.0  # frames a second at most, independent of fps
    send_vmc_names: str = "both"  # blendshape names sent: both, arkit (Perfect Sync) or vrm (presets)
    render: RenderSettings = field(default_factory=RenderSettings)
    expressions: ExpressionSettings = field(default_factory=ExpressionSettings)
    idle: str = "on"  # on (the user's idle.toml, else the shipped one), off, or a .toml path
    idle_seed: int | None = None  # wins over the file's seed
    lip_sync: LipSyncSettings = field(default_factory=LipSyncSettings)
    smooth: str = SMOOTH_DEFAULT  # between two renders: interpolate, extrapolate or off (live/smooth_motion.py)

    def check(self) -> None:
        """Everything that can be said before anything slow starts; a UserError for the first mistake."""
        if self.fps <= 0 or self.fps > 240:
            raise UserError(f"--fps must be between 0 and 240, got {self.fps:g}")
        if self.max_frames is not None and self.max_frames < 1:
            raise UserError(f"--max-frames must be at least 1, got {self.max_frames}")
        if self.lost_after <= 0:
            raise UserError(f"--lost-after must be more than 0 seconds, got {self.lost_after:g}")
        if self.send_vmc is not None:
            from vtube_plugin.sources.vmc_send import check_target

            check_target(self.send_vmc, self.send_vmc_rate, self.send_vmc_names, self.source, self.source_options)
        if self.idle_seed is not None and self.idle_seed < 0:
            raise UserError(f"--idle-seed must be a whole number 0 or more, got {self.idle_seed}")
        self.lip_sync.check()
        check_mode(self.smooth)

    def idle_life(self):
        """The IdleLife layer these settings ask for, or None (--idle off, or `enabled = false` in the file)."""
        from dataclasses import replace

        from vtube_plugin.expressions.idle import IdleLife
        from vtube_plugin.expressions.idle_settings import load_idle_settings

        if self.idle == "off":
            return None
        settings = load_idle_settings(None if self.idle == "on" else self.idle)
        if self.idle_seed is not None:
            settings = replace(settings, seed=self.idle_seed)
        return IdleLife(settings) if settings.enabled else None


def say(line: str) -> None:
    """A console line of its own, above the status line (during run_live sys.stderr is its console writer)."""
    print(line, file=sys.stderr, flush=True)


def live_mapper(config: LiveConfig, profile, source):
    """The session's mapper: with no profile named, the source's names choose it; with no calibration stored for
    the source and profile, the first steady seconds set the neutral head (and are stored like `c`'s)."""
    from vtube_plugin.mapping.calibration import load_calibration, save_calibration
    from vtube_plugin.mapping.live_mapper import LiveMapper

    def stored(p):
        return load_calibration(config.source, p.name) if config.use_calibration else None

    def auto_saved(cal, p) -> None:
        try:
            where = f": saved to {save_calibration(cal, config.source, p.name)}"
        except UserError as err:  # a config folder we cannot write must not end the stream
            where = f" for this session only: {err}"
        say(f"neutral head taken from your first steady seconds{where} (c + Enter calibrates your whole face)")

    return LiveMapper(profile, stored(profile), hint=None if config.profile else source.profile_hint,
                      calibration_for=stored, calibrated=auto_saved, say=say,
                      auto_calibrate=config.use_calibration and source.TRACKS)
