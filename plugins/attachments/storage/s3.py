"""S3-compatible object storage (AWS S3, MinIO, Garage, Scaleway, OVH…) through boto3.

An upload is streamed as a multipart upload to ``incoming/<random>`` (one part in memory at
a time), then copied server-side to its content key and the temporary object deleted. An
object appears under its key only when the copy completes, so readers never see half a
file. An interrupted multipart upload is aborted; one left by a crash is aborted by
``purge_incoming`` (a bucket lifecycle rule aborting incomplete uploads helps too).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .base import Hasher, Received, Storage, StorageError, check_key
from .registry import register

PART_SIZE = 8 * 1024 * 1024
"""Bytes per multipart part (S3's minimum is 5 MiB except for the last part)."""

INCOMING = "incoming/"


class S3Storage(Storage):
    name = "s3"

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        region: str | None = None,
    ) -> None:
        if not bucket:
            raise ValueError("S3_BUCKET must be set when STORAGE_BACKEND=s3")
        self.bucket = bucket
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            region_name=region,
            config=Config(signature_version="s3v4", retries={"max_attempts": 5}),
        )

    def receive(self, chunks: Iterable[bytes]) -> Received:
        temporary = f"{INCOMING}{uuid.uuid4().hex}"
        hasher = Hasher()
        buffer = bytearray()
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        try:
            for chunk in hasher.feed(chunks):
                buffer += chunk
                if len(buffer) >= PART_SIZE:
                    if upload_id is None:
                        upload_id = self.client.create_multipart_upload(
                            Bucket=self.bucket, Key=temporary
                        )["UploadId"]
                    parts.append(self._upload_part(temporary, upload_id, len(parts) + 1, buffer))
                    buffer.clear()
            if upload_id is None:  # small file: one request
                self.client.put_object(Bucket=self.bucket, Key=temporary, Body=bytes(buffer))
            else:
                if buffer:
                    parts.append(self._upload_part(temporary, upload_id, len(parts) + 1, buffer))
                self.client.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=temporary,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                )
        except BaseException:
            with suppress(Exception):
                if upload_id is not None:
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=temporary, UploadId=upload_id
                    )
                else:
                    self.client.delete_object(Bucket=self.bucket, Key=temporary)
            raise
        return Received(sha256=hasher.hexdigest, size=hasher.size, temporary=temporary)

    def _upload_part(self, key: str, upload_id: str, number: int, data: bytearray) -> dict:
        answer = self.client.upload_part(
            Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=bytes(data)
        )
        return {"ETag": answer["ETag"], "PartNumber": number}

    def _check_temporary(self, received: Received) -> str:
        name = received.temporary
        if not name.startswith(INCOMING) or "/" in name[len(INCOMING) :]:
            raise StorageError(f"not a temporary upload: {name!r}")
        return name

    def commit(self, received: Received) -> str:
        temporary = self._check_temporary(received)
        key = received.key
        try:
            if not self.exists(key):
                # Managed copy: a single CopyObject, or a multipart copy for large objects.
                self.client.copy({"Bucket": self.bucket, "Key": temporary}, self.bucket, key)
            self.client.delete_object(Bucket=self.bucket, Key=temporary)
        except (BotoCoreError, ClientError) as error:
            raise StorageError(f"could not commit {key}: {error}") from error
        return key

    def discard(self, received: Received) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._check_temporary(received))

    def open(self, key: str) -> BinaryIO:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=check_key(key))["Body"]
        except (BotoCoreError, ClientError) as error:
            raise StorageError(f"could not read {key}: {error}") from error

    def _head(self, key: str) -> dict | None:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise StorageError(f"could not look up {key}: {error}") from error

    def exists(self, key: str) -> bool:
        return self._head(check_key(key)) is not None

    def size(self, key: str) -> int:
        head = self._head(check_key(key))
        if head is None:
            raise StorageError(f"missing object {key}")
        return int(head["ContentLength"])

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=check_key(key))

    def purge_incoming(self, older_than: timedelta) -> int:
        cutoff = datetime.now(UTC) - older_than
        removed = 0
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=INCOMING
        ):
            for item in page.get("Contents", []):
                if item["LastModified"] < cutoff:
                    self.client.delete_object(Bucket=self.bucket, Key=item["Key"])
                    removed += 1
        for page in self.client.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.bucket, Prefix=INCOMING
        ):
            for upload in page.get("Uploads", []):
                if upload["Initiated"] < cutoff:
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
                    removed += 1
        return removed


@register("s3")
def from_config(config: Mapping[str, Any]) -> S3Storage:
    return S3Storage(
        config.get("S3_BUCKET") or "",
        endpoint_url=config.get("S3_ENDPOINT_URL"),
        access_key_id=config.get("S3_ACCESS_KEY_ID"),
        secret_access_key=config.get("S3_SECRET_ACCESS_KEY"),
        region=config.get("S3_REGION"),
    )
