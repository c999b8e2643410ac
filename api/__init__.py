"""The reporting service: Strawberry GraphQL served by Litestar."""
