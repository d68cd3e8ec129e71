"""Tracking sources: each speaks one protocol and yields FaceFrames; none knows about poses."""
