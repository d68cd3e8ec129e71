"""Layers over the tracked pose: hotkey expression presets, and what switches them.

`layer.py` fades presets in and out over the pose, `presets.py` reads profiles/expressions.toml, `keys.py` turns
key chords into presses, `control.py` is the local channel `vtube-plugin expression NAME` talks to.
"""
