"""Conversions: S2S postbacks (GET and POST) and pixels."""
