"""Clicks: the tracking-link redirect and the click API."""
