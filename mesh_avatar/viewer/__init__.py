"""The interactive viewer: slider state (GUI-free), an Open3D window, a browser page, screenshots.

``state`` holds all the logic and is what the tests drive; ``window`` (Open3D GUI), ``web`` (viser)
and ``screenshot`` (headless renderer) are thin front ends over it. ``app.main`` parses the
command line of ``viewer.py``. Front ends import their toolkit lazily, so importing this package
needs neither a display nor Open3D's GUI.
"""
