"""Workspaces, their postback secrets and API keys."""
