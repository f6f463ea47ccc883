"""The storage readiness check: the backends new files go to can take them."""

from flask import current_app

from shared.health import CheckFailed


def check_storage() -> None:
    """The local directory takes a file (unless every new file goes to S3); the S3 bucket,
    when one is configured, answers."""
    backends = current_app.extensions["storage.backends"]
    if current_app.config["FLAGS"]["USE_CLOUD_STORAGE"].percent < 100:
        try:
            backends["local"].check()
        except OSError:
            raise CheckFailed("the storage directory does not take files") from None
    if "s3" in backends:
        try:
            backends["s3"].check()
        except Exception:
            raise CheckFailed("the S3 bucket does not answer") from None
