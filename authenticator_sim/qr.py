"""Reading QR codes from pictures: a PNG of the code, or a screenshot of a page showing it."""

from __future__ import annotations

from pathlib import Path

import zxingcpp
from PIL import Image, UnidentifiedImageError

SCHEMES = ("pushauth://", "otpauth://", "mfauth://")


class QrError(Exception):
    pass


def decode_image(path: Path) -> str:
    """The first authenticator URI in the picture."""
    try:
        with Image.open(path) as image:
            results = zxingcpp.read_barcodes(image.convert("RGB"))
    except (OSError, UnidentifiedImageError) as e:
        raise QrError(f"cannot read {path} as a picture") from e
    texts = [r.text for r in results if r.format == zxingcpp.BarcodeFormat.QRCode]
    for text in texts:
        if text.startswith(SCHEMES):
            return text
    if texts:
        raise QrError(f"the QR code in {path} is not an authenticator code")
    raise QrError(f"no QR code found in {path}")
