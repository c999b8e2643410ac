"""Applying uploaded conversion files through the postback rules."""
