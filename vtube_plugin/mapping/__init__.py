"""The mapper stage: a profile turns a FaceFrame into a Pose, with smoothing and the user's calibration.

`profile.py` reads profiles (profiles/*.toml), `mapper.py` applies one, `smoothing.py` and `calibration.py` beside it.
"""
