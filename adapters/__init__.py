"""The outside world: platform connectors, the BagIt writer and the package
metadata, archive delivery (folder, object storage), headless Chromium.
Imports domain/ only, never store/, activities/, workflows/ or web/."""
