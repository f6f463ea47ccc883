"""The gateway: nginx configuration rendered from a template, and the full-topology launcher."""
