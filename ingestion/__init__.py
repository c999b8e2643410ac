"""The ingestion service: tracking links, click API, S2S postbacks and pixels."""
