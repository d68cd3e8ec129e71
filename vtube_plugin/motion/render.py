"""Renders a pose track into a video file, one frame per pose, with a progress bar and an ETA."""

from __future__ import annotations

import numpy as np

from vtube_plugin.errors import UserError
from vtube_plugin.motion.pose_track import PoseTrack


def render_video(track: PoseTrack, renderer, character: np.ndarray, writer, progress: bool = True) -> int:
    """Renders `track` at the writer's frame rate into `writer` (a `vtube_plugin.sinks.video.VideoWriter`, not
    yet entered); returns the frame count. Stopping with Ctrl-C leaves no file: a video of half a
    motion would pass for the whole one."""
    from tqdm import tqdm

    renderer.set_character(character)
    fps = float(writer.fps)
    frames = track.frame_count(fps)
    with writer:
        try:
            for pose in tqdm(track.poses(fps), total=frames, unit="frame", desc=f"rendering {writer.path.name}",
                             disable=not progress, dynamic_ncols=True):
                writer.write(renderer.render(pose))
        except KeyboardInterrupt:
            raise UserError(f"stopped; {writer.path} was not written.", exit_code=130) from None
    return frames
