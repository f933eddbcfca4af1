"""The notebook face: %lambda magics, widgets and live plots (the only Jupyter importer).

``sandbox.notebook.magics`` holds the ``%lambda`` / ``%%lambda`` magics that
``%load_ext sandbox`` registers (``docs/magics.md``). Nothing is imported here, so
importing this package loads no IPython.
"""
