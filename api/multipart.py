"""Request bodies of the GraphQL endpoint: a JSON document, or a GraphQL multipart request
(https://github.com/jaydenseric/graphql-multipart-request-spec) carrying one file.

The route takes bodies as large as an upload; a JSON document keeps its own, smaller limit,
so only a request that really carries a file may be large. A multipart request is
`operations` (the JSON document, its file variable null), `map` (`{"<part>": ["variables.<name>"]}`)
and exactly one file part. Anything else is refused with a 400 that says what to send.

Multipart bodies need no CSRF guard here: a browser posts a cross-site form without custom
headers, and every request must carry `Authorization: Bearer <key>` (no cookies).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import msgspec
from cross_web import HTTPException
from litestar import Request
from litestar.datastructures import UploadFile
from litestar.exceptions import HTTPException as LitestarHTTPException
from strawberry.file_uploads.utils import replace_placeholders_with_files

from models.upload_files import MAX_FILE_BYTES

# Decoding a body costs time in its size (~35 ms for 1 MiB of small objects); the largest
# filter (5,000 values) takes a few hundred kB.
MAX_BODY_BYTES = 1_048_576
# A multipart request: the file, and its operations (as large as a JSON body) around it.
MAX_MULTIPART_BYTES = MAX_FILE_BYTES + MAX_BODY_BYTES

_decode_map = msgspec.json.Decoder(dict[str, list[str]]).decode


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """What an `Upload` variable holds: the file part's name and bytes, read whole."""

    filename: str
    data: bytes


@dataclass(frozen=True, slots=True)
class MultipartRequest:
    # The JSON document, as in a JSON request's body.
    operations: str
    # Where the file goes: `variables.<name>`, or deeper.
    path: str
    file: UploadedFile


async def json_body(request: Request[Any, Any, Any]) -> bytes:
    """The body of a JSON request, refused past MAX_BODY_BYTES as soon as it is seen to be."""
    try:
        if (request.content_length or 0) > MAX_BODY_BYTES:
            raise HTTPException(413, _json_too_large())
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                raise HTTPException(413, _json_too_large())
    except LitestarHTTPException as error:
        # A Content-Length that is no number, a client gone mid-body.
        raise HTTPException(error.status_code, f"the body cannot be read: {error.detail}") from None
    return bytes(body)


def _json_too_large() -> str:
    return f"the body is over {MAX_BODY_BYTES} bytes: send smaller variables"


async def multipart_request(request: Request[Any, Any, Any]) -> MultipartRequest:
    """The parts of a multipart request. The file is read whole here (at most MAX_FILE_BYTES
    and a byte), so its temporary file is closed whatever happens to the operation."""
    try:
        form = await request.form()
    except LitestarHTTPException as error:
        if error.status_code == 413:
            raise HTTPException(
                413,
                f"the request is over {MAX_MULTIPART_BYTES} bytes: files are taken up to "
                f"{MAX_FILE_BYTES} bytes ({MAX_FILE_BYTES // 1024 // 1024} MiB); split the file",
            ) from None
        raise HTTPException(
            error.status_code, f"the multipart body cannot be read: {error.detail}"
        ) from None
    except UnicodeDecodeError:
        raise HTTPException(
            400, "a form field without a filename is not UTF-8: send files as file parts"
        ) from None
    files = [(name, value) for name, value in form.multi_items() if isinstance(value, UploadFile)]
    try:
        return await _parts(form.multi_items(), files)
    finally:
        for _, file in files:
            await file.close()


async def _parts(
    items: Iterable[tuple[str, Any]], files: list[tuple[str, UploadFile]]
) -> MultipartRequest:
    fields: dict[str, list[Any]] = {}
    for name, value in items:
        fields.setdefault(name, []).append(value)
    operations = _text_field(fields, "operations")
    if len(operations) > MAX_BODY_BYTES:
        raise HTTPException(413, f"operations is over {MAX_BODY_BYTES} bytes")
    try:
        file_map = _decode_map(_text_field(fields, "map"))
    except msgspec.DecodeError as error:
        raise HTTPException(
            400, f'map must be a JSON object such as {{"0": ["variables.file"]}}: {error}'
        ) from None
    if len(files) != 1:
        raise HTTPException(400, f"send exactly one file per request, not {len(files)}")
    [(part, file)] = files
    if list(file_map) != [part] or len(file_map[part]) != 1:
        raise HTTPException(
            400, f'map must name the file part once, as {{"{part}": ["variables.<name>"]}}'
        )
    [path] = file_map[part]
    if not path.startswith("variables."):
        raise HTTPException(400, f"map must place the file in a variable, not at {path[:80]!r}")
    data = await file.read(MAX_FILE_BYTES + 1)
    return MultipartRequest(operations, path, UploadedFile(file.filename or "", data))


def place_file(variables: dict[str, Any] | None, path: str, file: UploadedFile) -> dict[str, Any]:
    """The variables with the file at ``path`` (`variables.<name>`, or deeper)."""
    try:
        placed = replace_placeholders_with_files(
            {"variables": variables or {}}, {"file": [path]}, {"file": file}
        )
    except (KeyError, IndexError, ValueError, TypeError):
        raise HTTPException(
            400, f"map names {path[:80]!r}, which the operations' variables do not have"
        ) from None
    result: dict[str, Any] = placed["variables"]
    return result


def _text_field(fields: dict[str, list[Any]], name: str) -> str:
    values = fields.get(name, [])
    if len(values) != 1 or not isinstance(values[0], str):
        raise HTTPException(
            400, f"a multipart request needs one text field {name!r} (GraphQL multipart spec)"
        )
    value: str = values[0]
    return value
