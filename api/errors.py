"""Errors a client caused and can fix; their messages reach the client unmasked."""


class QueryInputError(ValueError):
    """An argument is out of range or malformed (page size, cursor, filter); says which."""
