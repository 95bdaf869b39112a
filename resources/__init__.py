"""Foveal's bundled data: the sample images (``samples/``), the application icon (``icons/``) and the license
notices (``licenses/``). Installed as package data; read only through :mod:`core.resources`."""
