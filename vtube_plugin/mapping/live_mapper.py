"""The mapper of a live session: the right profile and calibration without asking.

When the user named no profile, it follows the names the tracker sends (a Perfect Sync VMC sender gets the
arkit profile); when no calibration is stored for the source and profile, the first steady seconds become it.
"""

from __future__ import annotations

from collections.abc import Callable

from vtube_plugin.errors import UserError
from vtube_plugin.mapping.calibration import Calibration, SteadyCapture
from vtube_plugin.mapping.mapper import Mapper
from vtube_plugin.mapping.profile import Profile, load_profile
from vtube_plugin.pose import Pose
from vtube_plugin.sources.frame import FaceFrame

# What the console says when the tracker's names choose the profile.
SEEN = {"arkit": "Perfect Sync names", "vrm": "VRM preset names"}


class LiveMapper(Mapper):
    """A Mapper that can change its own profile and calibration while streaming.

    `hint()` is the source's profile hint (None when the user named a profile: theirs always wins);
    `calibration_for(profile)` the stored calibration or None; `calibrated(calibration, profile)` stores one
    captured automatically and says so; `say` writes a console line.
    """

    def __init__(
        self,
        profile: Profile,
        calibration: Calibration | None = None,
        *,
        hint: Callable[[], str | None] | None = None,
        calibration_for: Callable[[Profile], Calibration | None] = lambda profile: None,
        calibrated: Callable[[Calibration, Profile], None] | None = None,
        say: Callable[[str], None] = print,
        auto_calibrate: bool = True,
        steady_seconds: float = 2.0,
    ):
        self._hint = hint
        self._calibration_for = calibration_for
        self._calibrated = calibrated
        self._say = say
        self._auto_calibrate = auto_calibrate
        self._steady_seconds = steady_seconds
        self._followed: str | None = None  # the last hint acted on
        self.auto_capture: SteadyCapture | None = None
        super().__init__(profile, calibration)

    def use_profile(self, profile: Profile, calibration: Calibration | None = None) -> None:
        super().use_profile(profile, calibration)
        wanted = calibration is None and self._auto_calibrate
        self.auto_capture = SteadyCapture(self._steady_seconds) if wanted else None

    @property
    def auto_calibrating(self) -> bool:
        return self.auto_capture is not None

    def _follow_hint(self) -> None:
        name = self._hint() if self._hint is not None else None
        if name is None or name == self._followed:
            return
        self._followed = name
        if name == self.profile.name:
            return
        try:
            profile = load_profile(name)
            calibration = self._calibration_for(profile)
        except UserError as err:  # a broken profile of the user's own must not end the stream
            self._say(f"{SEEN.get(name, name)} seen, but the {name} profile cannot be used: {err}")
            return
        self.use_profile(profile, calibration)
        self._say(f"{SEEN.get(name, name)} seen: using the {name} profile"
                  + ("" if calibration is None else " (calibrated)"))

    def _auto_step(self, frame: FaceFrame) -> None:
        capture = self.auto_capture
        if capture is None:
            return
        if self.calibration is not None:  # `c` finished first, or a calibration was set from outside
            self.auto_capture = None
            return
        calibration = capture.add(frame)
        if calibration is None:
            return
        self.auto_capture = None
        self.calibration = calibration
        if self._calibrated is not None:
            self._calibrated(calibration, self.profile)

    def __call__(self, frame: FaceFrame) -> Pose:
        self._follow_hint()
        self._auto_step(frame)
        return super().__call__(frame)
