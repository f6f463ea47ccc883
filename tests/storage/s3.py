"""An S3 endpoint for the tests: moto's server in its own process, a real HTTP endpoint."""

import contextlib
import os
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager

import boto3
import requests
from botocore.config import Config

from tests.gateway.support import free_ports

REGION = "us-east-1"
# moto accepts any credentials; boto3 must find some, as it would in production.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def use_test_credentials() -> None:
    for name, value in CREDENTIALS.items():
        os.environ.setdefault(name, value)


@contextmanager
def moto_server():
    """Start moto's server on a free loopback port; yield its URL; stop it."""
    (port,) = free_ports(1)
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
        start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{url}/moto-api/", timeout=1).status_code < 500:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("moto's server did not start")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def client(endpoint: str):
    use_test_credentials()
    return boto3.client("s3", endpoint_url=endpoint, region_name=REGION,
                        config=Config(s3={"addressing_style": "path"}))


def new_bucket(endpoint: str) -> str:
    """A fresh, empty bucket: tests never see each other's objects."""
    name = f"test-{uuid.uuid4().hex[:16]}"
    client(endpoint).create_bucket(Bucket=name)
    return name


def s3_settings(endpoint: str, bucket: str, **extra: str) -> dict[str, str]:
    """The service's settings for this endpoint and bucket (short timeouts, no retries)."""
    use_test_credentials()
    return {"S3_ENDPOINT_URL": endpoint, "S3_BUCKET": bucket, "S3_REGION": REGION,
            "S3_ADDRESSING_STYLE": "path", "S3_CONNECT_TIMEOUT": "1", "S3_READ_TIMEOUT": "2",
            "S3_MAX_ATTEMPTS": "1", **extra}
