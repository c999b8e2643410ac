"""Root mutation field for uploading a conversion file."""

import asyncio
from typing import Annotated

import strawberry
from strawberry.file_uploads import Upload

from api.context import Context
from api.multipart import UploadedFile
from api.mutation_errors import InputError, InvalidInput, returns_errors
from api.permissions import IsAdmin
from api.uploads.types import ConversionUploadType, UploadJobType
from models.database import driver_connection
from models.upload_files import MAX_FILE_BYTES, UploadFileError, read_upload
from models.upload_jobs import store_upload

UploadConversionsResult = Annotated[
    ConversionUploadType | InputError,
    strawberry.union(
        "UploadConversionsResult", description="The file's job, or why the file was refused."
    ),
]


@strawberry.type
class UploadMutations:
    @strawberry.mutation(
        description="Upload a CSV or JSON-lines file of conversions (the GraphQL multipart "
        f"request spec, one file per request, up to {MAX_FILE_BYTES // 1024 // 1024} MiB). "
        "Answers once the file's rows are stored; they are then applied in the background, "
        "each as an S2S postback. The same file again answers its first job.",
        permission_classes=[IsAdmin],
    )
    @returns_errors
    async def upload_conversions(
        self,
        info: strawberry.Info[Context],
        file: Annotated[
            Upload,
            strawberry.argument(
                description="CSV with a header row, or one flat JSON object per line; columns "
                "named as postback parameters (clickid, sum, txid, type, status, currency, "
                "conversion_time, ...)."
            ),
        ],
    ) -> UploadConversionsResult:
        if not isinstance(file, UploadedFile):
            raise InvalidInput(
                "send the file as a file part of a multipart request (the GraphQL multipart "
                "request spec), not as a value",
                field="file",
            )
        try:
            # Reading 200,000 rows takes seconds of CPU: off the event loop, other requests
            # are answered meanwhile.
            upload = await asyncio.to_thread(read_upload, file.data)
        except UploadFileError as error:
            raise InvalidInput(f"{error.message} ({error.code})", field="file") from None
        async with driver_connection(info.context.engine) as conn, conn.transaction():
            job = await store_upload(
                conn,
                workspace_id=info.context.principal.workspace_id,
                filename=file.filename,
                upload=upload,
            )
        return ConversionUploadType(
            job=UploadJobType.from_row(job), already_uploaded=not job.created
        )
