"""Applying cost updates to clicks and their rollups, batch by batch."""
