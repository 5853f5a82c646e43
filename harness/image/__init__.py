"""The base tree that local-backend nodes boot from, built from Debian's packages and cached."""

from halab.image.build import BaseImage, ensure_image

__all__ = ["BaseImage", "ensure_image"]
