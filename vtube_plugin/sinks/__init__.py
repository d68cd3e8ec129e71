"""Sinks: where rendered frames go (virtual camera, preview window, video file); none knows about poses.

Each sink is a context manager with `send(rgba)`; `compose.Compositor` puts the RGBA frame on a background.
"""
