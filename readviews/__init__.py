"""Reads of the read models for the web app, the CLI and the archive
exports. Imports store/ (the sealed contents) and domain/, never
activities/, workflows/ or web/."""
