"""The slider poser: a local web page with one slider per pose parameter and a live preview.

`server.py` serves the page and its small JSON API; `preview.py` renders the newest pose on one worker thread.
"""
