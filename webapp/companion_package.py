"""Build the companion app's zip, the file an admin uploads as a Freshworks custom app.

Freshworks' CLI (``fdk pack``) is not on the package registry, so this does its packing
part: a zip with the app's own files at its root (``manifest.json``, ``config/``,
``server/``), without tests, test helpers or ``node_modules``. Entries are sorted and
dated 1980-01-01 so the same files always give the same bytes.

The integration page serves it with this server's URL as the ``server_url`` iparam's
default value, so the install screen comes filled in. Run by hand::

    python -m webapp.companion_package dist/chat-volume-hub-companion.zip \
        [--server-url https://hub.example.com]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import zipfile
from pathlib import Path

APP_DIR = Path(__file__).resolve().parent.parent / "companion-app"
ZIP_NAME = "chat-volume-hub-companion.zip"
# What the marketplace reads; everything else in companion-app/ is for development.
INCLUDED = ("manifest.json", "README.md", "config", "server")
_EPOCH = (1980, 1, 1, 0, 0, 0)


class PackageUnavailable(RuntimeError):
    """The app's sources are not beside this installation (e.g. a wheel without them)."""


def packaged_files(app_dir: Path = APP_DIR) -> list[str]:
    """Zip paths (POSIX, relative to the app) of the files that ship."""
    if not (app_dir / "manifest.json").is_file():
        raise PackageUnavailable(f"the companion app's files are missing from {app_dir}")
    names: list[str] = []
    for entry in INCLUDED:
        path = app_dir / entry
        if path.is_file():
            names.append(entry)
        elif path.is_dir():
            names.extend(
                p.relative_to(app_dir).as_posix()
                for p in path.rglob("*")
                if p.is_file() and "node_modules" not in p.parts and not p.name.startswith(".")
            )
    return sorted(names)


def _with_default_url(iparams_text: str, server_url: str) -> bytes:
    iparams = json.loads(iparams_text)
    iparams["server_url"]["default_value"] = server_url
    return (json.dumps(iparams, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def build_zip(app_dir: Path = APP_DIR, *, server_url: str | None = None) -> bytes:
    """The zip's bytes; ``server_url`` pre-fills the install screen's URL field."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in packaged_files(app_dir):
            data = (app_dir / name).read_bytes()
            if name == "config/iparams.json" and server_url:
                data = _with_default_url(data.decode("utf-8"), server_url)
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Pack the companion app for upload.")
    parser.add_argument("output", type=Path, help=f"zip to write, e.g. dist/{ZIP_NAME}")
    parser.add_argument("--server-url", help="pre-fill the install screen with this URL")
    args = parser.parse_args(argv)
    try:
        data = build_zip(server_url=args.server_url)
    except PackageUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(data)
    print(f"wrote {args.output} ({len(data)} bytes, {len(packaged_files())} files)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
