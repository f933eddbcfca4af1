"""The Lambda control and data plane that ties core, store and runtime together.

Importing this package must not load IPython, ipywidgets or matplotlib.
"""
