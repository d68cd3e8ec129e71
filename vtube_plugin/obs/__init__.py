"""The OBS side door (obs-websocket 5 via obsws-python): settings, `obs setup`, and the live controller."""

from vtube_plugin.obs.connection import ObsUnavailable, open_requests
from vtube_plugin.obs.controller import ObsController
from vtube_plugin.obs.settings import ObsSettings, resolve_settings
from vtube_plugin.obs.setup import SCENE, item_name, setup_expressions

__all__ = ["ObsController", "ObsSettings", "ObsUnavailable", "SCENE", "item_name", "open_requests",
           "resolve_settings", "setup_expressions"]
