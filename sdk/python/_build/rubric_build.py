"""A PEP 517 build backend in the standard library only.

`pip install ./sdk/python` must work where no package index is reachable, so
the package needs no build requirements: this module writes the wheel (and the
sdist) itself. It knows exactly this project: the `rubric` package, pure
Python, no dependencies.
"""
from __future__ import annotations

import base64
import hashlib
import io
import os
import tarfile
import zipfile
from typing import Any, Dict, List, Optional, Tuple

NAME = "rubric"
VERSION = "0.1.0"
SUMMARY = "Python SDK for Rubric Webhooks: manage webhooks, send events, verify deliveries"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIST_INFO = f"{NAME}-{VERSION}.dist-info"
TAG = "py3-none-any"


def _metadata() -> str:
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    return (
        "Metadata-Version: 2.1\n"
        f"Name: {NAME}\nVersion: {VERSION}\nSummary: {SUMMARY}\n"
        "Requires-Python: >=3.9\nClassifier: Typing :: Typed\n"
        "Description-Content-Type: text/markdown\n\n" + readme
    )


def _package_files() -> List[Tuple[str, str]]:
    """(archive name, path) of every file of the package, sorted, without caches."""
    out = []
    for base, dirs, files in os.walk(os.path.join(ROOT, NAME)):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith((".py", ".typed")):
                path = os.path.join(base, name)
                out.append((os.path.relpath(path, ROOT).replace(os.sep, "/"), path))
    return out


def _record_line(arcname: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{arcname},sha256={digest},{len(data)}"


def _write_wheel(directory: str, entries: List[Tuple[str, bytes]]) -> str:
    name = f"{NAME}-{VERSION}-{TAG}.whl"
    meta = [
        (f"{DIST_INFO}/METADATA", _metadata().encode()),
        (f"{DIST_INFO}/WHEEL", f"Wheel-Version: 1.0\nGenerator: rubric_build\nRoot-Is-Purelib: true\nTag: {TAG}\n".encode()),
        (f"{DIST_INFO}/top_level.txt", f"{NAME}\n".encode()),
    ]
    records = [_record_line(a, d) for a, d in entries + meta] + [f"{DIST_INFO}/RECORD,,"]
    with zipfile.ZipFile(os.path.join(directory, name), "w", zipfile.ZIP_DEFLATED) as zf:
        for arcname, data in entries + meta:
            zf.writestr(arcname, data)
        zf.writestr(f"{DIST_INFO}/RECORD", "\n".join(records) + "\n")
    return name


def get_requires_for_build_wheel(config_settings: Optional[Dict[str, Any]] = None) -> List[str]:
    """Nothing to install before building."""
    return []


get_requires_for_build_sdist = get_requires_for_build_editable = get_requires_for_build_wheel


def build_wheel(wheel_directory: str, config_settings: Optional[Dict[str, Any]] = None, metadata_directory: Optional[str] = None) -> str:
    """The wheel: the package's files and its metadata."""
    entries = []
    for arcname, path in _package_files():
        with open(path, "rb") as f:
            entries.append((arcname, f.read()))
    return _write_wheel(wheel_directory, entries)


def build_editable(wheel_directory: str, config_settings: Optional[Dict[str, Any]] = None, metadata_directory: Optional[str] = None) -> str:
    """An editable wheel: a `.pth` file that puts this directory on `sys.path`."""
    return _write_wheel(wheel_directory, [(f"__editable__.{NAME}.pth", (ROOT + "\n").encode())])


def build_sdist(sdist_directory: str, config_settings: Optional[Dict[str, Any]] = None) -> str:
    """The source archive: package, build backend, pyproject.toml, README.md and PKG-INFO."""
    base = f"{NAME}-{VERSION}"
    files = _package_files() + [(p, os.path.join(ROOT, p)) for p in ("pyproject.toml", "README.md", "_build/rubric_build.py")]
    name = f"{base}.tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz", format=tarfile.PAX_FORMAT) as tf:
        for arcname, path in files:
            tf.add(path, arcname=f"{base}/{arcname}", recursive=False)
        info = tarfile.TarInfo(f"{base}/PKG-INFO")
        data = _metadata().encode()
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    return name
