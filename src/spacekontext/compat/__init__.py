"""Routes of the Space Kontext web client that are not resources of our own: the materials
library, the push/pull geometry operation, the AI render and Sketchfab proxies, and the file
clean-up. Each is a thin adapter over our services or a guarded client of an upstream."""
