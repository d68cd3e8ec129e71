"""The live loop: newest tracking frame -> pose -> rendered frame -> sinks, paced to the output's frame rate.

`LiveLoop` in loop.py; the small parts it is built from (pacing, lost tracking, console, status, recording) beside it.
"""
