"""Motion transfer: MMD motion files (.vmd) -> a pose track -> a rendered video.

`vmd` reads the file, `track` turns keyframes into per-frame values, `profile` maps MMD names onto the pose.
"""
