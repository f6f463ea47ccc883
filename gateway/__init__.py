"""The gateway: nginx configuration rendered from a template, the embedded dispatcher that
serves the same paths from one process, and the status page."""
