"""The notebook face: %lambda magics, widgets and live plots (the only Jupyter importer)."""
