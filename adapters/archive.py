"""BagIt (RFC 8493, BagIt 1.0) writer for the archive package handed to the registrar.

A closed account's final snapshot is delivered as a bag::

    <target>/
      bagit.txt               BagIt-Version 1.0, UTF-8 tag files
      bag-info.txt            caller's info in order, Bagging-Date, Payload-Oxum, Bag-Size
      manifest-sha256.txt     "<sha256>  data/<path>", sorted by path
      tagmanifest-sha256.txt  covers bag-info.txt, bagit.txt, manifest-sha256.txt
      data/<payload files>

Only the standard library and pydantic are used; the reference validator
(bagit-python) is a test dependency, not a runtime one.

Guarantees:

- Atomic: the bag is built in a hidden sibling directory
  (``.<name>.tmp-<random>``), every file and directory is fsynced, the bag is
  re-verified, and only then renamed to ``target``. A failure removes the
  temporary directory. A process killed mid-write can leave a
  ``.<name>.tmp-*`` directory behind; it is never mistaken for the bag and can
  be deleted (it is not removed automatically, since it may belong to a
  concurrent writer).
- Idempotent: a retried activity writes once. If ``target`` exists and its
  manifest-sha256.txt is byte-identical to the one we would write (same
  payload), the existing bag is verified and returned with ``created=False``.
  bag-info.txt is deliberately not compared: the payload is the record, and a
  retry that recomputed e.g. Bagging-Date must not fail.
- A delivered package is never overwritten: any other existing ``target``
  raises ``FileExistsError``.

Encoding decisions:

- Paths are UTF-8 and normalised to Unicode NFC, so "å" is one code point on
  every file system the registrar might unpack to. Beyond absolute paths,
  "..", backslashes and empty segments, also rejected are ".", NUL, segments
  that start or end with whitespace (validators strip manifest lines), two
  paths equal after case folding (they collide on case-insensitive systems),
  and a path that is both a file and a directory.
- Manifest paths percent-encode CR, LF and "%" (as %0D, %0A, %25), as RFC 8493
  section 2.1.3 requires. bagit-python 1.9 encodes CR and LF but does not
  decode %25 (LibraryOfCongress/bagit-python#157, open), so it reports a
  payload file whose name contains "%" as missing; avoid "%" in names if the
  recipient validates with it.
- bag-info values containing line breaks (LF, CR or CRLF) are folded as RFC
  8493 section 2.2.2 allows: each further line is written on a continuation
  line indented by one space, and the line break is part of the value. Since
  a reader drops the indentation and skips blank lines, values whose lines are
  empty or start or end with whitespace cannot round-trip and are rejected
  with ``ValueError`` rather than silently altered. Long single-line values
  are not wrapped (the 79-character line length is only RECOMMENDED, and
  wrapping would insert line breaks into the value).

``write_bag`` does blocking file I/O: call it from a synchronous activity or
through ``asyncio.to_thread``.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, field_validator

BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
MANIFEST = "manifest-sha256.txt"
TAGMANIFEST = "tagmanifest-sha256.txt"
BAG_INFO = "bag-info.txt"
TAG_FILES = ("bagit.txt", BAG_INFO, MANIFEST)  # the files tagmanifest-sha256.txt covers

# Computed by write_bag; a caller-supplied value could only disagree with the payload.
_COMPUTED_LABELS = frozenset({"payload-oxum", "bag-size"})
_SHA256_LINE = re.compile(r"([0-9a-fA-F]{64})[ \t]+(.+)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class BagFile(BaseModel):
    """One payload file: ``path`` is relative to ``data/``, POSIX separators."""

    # Binary payloads (images) survive a JSON round trip (Temporal's pydantic
    # converter) only as base64; strict keeps a str from being taken for bytes.
    model_config = ConfigDict(
        frozen=True, strict=True, ser_json_bytes="base64", val_json_bytes="base64"
    )

    path: str
    content: bytes

    @field_validator("path")
    @classmethod
    def _safe_relative_path(cls, value: str) -> str:
        return safe_payload_path(value)


class BagResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str  # absolute bag directory
    payload_oxum: str  # "<octets>.<files>"
    manifest_sha256: str  # sha256 hex of manifest-sha256.txt
    files: int
    bytes: int
    created: bool  # False: an identical bag was already there (a retried write)


def safe_payload_path(path: str) -> str:
    """Return ``path`` in NFC if it is a safe relative POSIX path, else raise ValueError."""
    if not path:
        raise ValueError("payload path is empty")
    if "\\" in path:
        raise ValueError(f"payload path {path!r} contains a backslash; use '/'")
    if "\x00" in path:
        raise ValueError(f"payload path {path!r} contains a NUL character")
    if path.startswith("/"):
        raise ValueError(f"payload path {path!r} is absolute; it must be relative to data/")
    for segment in path.split("/"):
        if segment == "":
            raise ValueError(f"payload path {path!r} has an empty segment")
        if segment in (".", ".."):
            raise ValueError(f"payload path {path!r} contains {segment!r}")
        if segment != segment.strip():
            # Validators (bagit-python among them) strip manifest lines, and
            # Windows drops trailing spaces: such a name would not survive.
            raise ValueError(
                f"payload path {path!r} has a segment that starts or ends with whitespace"
            )
    return unicodedata.normalize("NFC", path)


def write_bag(target: Path, files: Sequence[BagFile], info: Mapping[str, str]) -> BagResult:
    """Write ``files`` as a BagIt 1.0 bag at ``target``, atomically and idempotently.

    ``info`` becomes bag-info.txt in the given order; pass ``Bagging-Date``
    (YYYY-MM-DD) for a deterministic bag, otherwise today's UTC date is used.
    Payload-Oxum and Bag-Size are computed. ``target.parent`` must exist.

    Raises ValueError for unusable paths or info, FileExistsError if a
    different bag (or anything else) is already at ``target``.
    """
    target = Path(target).absolute()
    ordered = _checked_payload(files)
    manifest = _manifest(ordered)
    octets = sum(len(f.content) for f in ordered)
    bag_info = _bag_info(info, octets=octets, count=len(ordered))

    def result(created: bool) -> BagResult:
        return BagResult(
            path=str(target),
            payload_oxum=f"{octets}.{len(ordered)}",
            manifest_sha256=hashlib.sha256(manifest).hexdigest(),
            files=len(ordered),
            bytes=octets,
            created=created,
        )

    if os.path.lexists(target):
        _check_existing(target, manifest)
        return result(created=False)

    if not target.parent.is_dir():
        raise FileNotFoundError(f"archive directory {target.parent} does not exist")

    tmp = target.parent / f".{target.name}.tmp-{secrets.token_hex(8)}"
    os.mkdir(tmp)
    try:
        directories = {tmp, tmp / "data"}
        (tmp / "data").mkdir()
        for bag_file in ordered:
            destination = tmp / "data" / bag_file.path
            for parent in destination.relative_to(tmp).parents:
                directories.add(tmp / parent)
            destination.parent.mkdir(parents=True, exist_ok=True)
            _write_synced(destination, bag_file.content)
        tags = {"bagit.txt": BAGIT_TXT, BAG_INFO: bag_info, MANIFEST: manifest}
        for name, content in tags.items():
            _write_synced(tmp / name, content)
        _write_synced(tmp / TAGMANIFEST, _tagmanifest(tags))
        for directory in directories:
            _fsync_directory(directory)
        verify_bag(tmp)
        try:
            os.rename(tmp, target)
        except OSError:
            # Lost a race with a concurrent writer of the same target: the
            # existing bag decides, exactly as if it had been there first.
            if not os.path.lexists(target):
                raise
            _check_existing(target, manifest)
            return result(created=False)
        _fsync_directory(target.parent)
    finally:
        if os.path.lexists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    return result(created=True)


def verify_bag(path: Path) -> None:
    """Minimal self-check of a bag this module wrote; raise ValueError naming what is wrong.

    Checks bagit.txt, that the payload on disk is exactly what
    manifest-sha256.txt lists with matching hashes, the tag manifest, and
    Payload-Oxum. Not a general validator (only sha256 manifests are read).
    """
    root = Path(path)
    if not root.is_dir():
        raise ValueError(f"{root}: not a directory")
    for required in ("bagit.txt", MANIFEST, TAGMANIFEST, BAG_INFO):
        if not (root / required).is_file():
            raise ValueError(f"{root}: {required} is missing")
    if not (root / "data").is_dir():
        raise ValueError(f"{root}: data/ is missing")

    problems: list[str] = []
    declaration = _parse_tags((root / "bagit.txt").read_bytes(), "bagit.txt")
    if declaration.get("BagIt-Version") != "1.0":
        problems.append("bagit.txt does not declare BagIt-Version: 1.0")
    if declaration.get("Tag-File-Character-Encoding", "").upper() != "UTF-8":
        problems.append("bagit.txt does not declare Tag-File-Character-Encoding: UTF-8")

    listed = _parse_manifest((root / MANIFEST).read_bytes(), MANIFEST)
    on_disk = _payload_on_disk(root)
    for missing in sorted(listed.keys() - on_disk.keys()):
        problems.append(f"{missing} is in {MANIFEST} but not in the bag")
    for extra in sorted(on_disk.keys() - listed.keys()):
        problems.append(f"{extra} is in the bag but not in {MANIFEST}")
    for name in sorted(listed.keys() & on_disk.keys()):
        if _sha256_file(root / name) != listed[name]:
            problems.append(f"{name}: sha256 does not match {MANIFEST}")

    tag_listed = _parse_manifest((root / TAGMANIFEST).read_bytes(), TAGMANIFEST, payload=False)
    for name in TAG_FILES:
        if name not in tag_listed:
            problems.append(f"{TAGMANIFEST} does not cover {name}")
    for name, digest in sorted(tag_listed.items()):
        if not (root / name).is_file():
            problems.append(f"{name} is in {TAGMANIFEST} but not in the bag")
        elif _sha256_file(root / name) != digest:
            problems.append(f"{name}: sha256 does not match {TAGMANIFEST}")

    oxum = _parse_tags((root / BAG_INFO).read_bytes(), BAG_INFO).get("Payload-Oxum")
    actual = f"{sum(size for size in on_disk.values())}.{len(on_disk)}"
    if oxum is None:
        problems.append(f"{BAG_INFO} has no Payload-Oxum")
    elif oxum != actual:
        problems.append(f"Payload-Oxum is {oxum} but the payload is {actual}")

    if problems:
        raise ValueError(f"{root} is not a valid bag: " + "; ".join(problems))


# -- building ---------------------------------------------------------------


def _checked_payload(files: Sequence[BagFile]) -> list[BagFile]:
    ordered = sorted(files, key=lambda f: f.path)
    seen: dict[str, str] = {}
    for bag_file in ordered:
        folded = bag_file.path.casefold()
        if folded in seen:
            raise ValueError(
                f"payload paths {seen[folded]!r} and {bag_file.path!r} collide "
                "(identical, or equal ignoring case)"
            )
        seen[folded] = bag_file.path
    for folded, original in seen.items():
        for prefix in _prefixes(folded):
            if prefix in seen:
                raise ValueError(
                    f"payload path {seen[prefix]!r} is a file but {original!r} needs it "
                    "to be a directory"
                )
    return ordered


def _prefixes(path: str) -> Iterable[str]:
    segments = path.split("/")
    for end in range(1, len(segments)):
        yield "/".join(segments[:end])


def _manifest(ordered: Sequence[BagFile]) -> bytes:
    lines = (
        f"{hashlib.sha256(f.content).hexdigest()}  {_encode_path('data/' + f.path)}\n"
        for f in ordered
    )
    return "".join(lines).encode("utf-8")


def _tagmanifest(tags: Mapping[str, bytes]) -> bytes:
    lines = (f"{hashlib.sha256(tags[name]).hexdigest()}  {name}\n" for name in sorted(tags))
    return "".join(lines).encode("utf-8")


def _encode_path(path: str) -> str:
    # "%" first, or the "%" of %0A would itself be encoded.
    return path.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _decode_path(path: str) -> str:
    # One pass, so "%250A" decodes to "%0A", not to a line feed.
    codes = {"0d": "\r", "0a": "\n", "25": "%"}
    return re.sub(r"%(0[dDaA]|25)", lambda m: codes[m.group(1).lower()], path)


def _bag_info(info: Mapping[str, str], *, octets: int, count: int) -> bytes:
    lines: list[str] = []
    labels = {label.casefold() for label in info}
    for label, value in info.items():
        _check_label(label)
        if label.casefold() in _COMPUTED_LABELS:
            raise ValueError(f"bag-info label {label!r} is computed by write_bag; do not pass it")
        if label.casefold() == "bagging-date":
            _check_date(value)
        lines.append(f"{label}: {_fold(label, value)}\n")
    if "bagging-date" not in labels:
        lines.append(f"Bagging-Date: {datetime.now(UTC).date().isoformat()}\n")
    lines.append(f"Payload-Oxum: {octets}.{count}\n")
    lines.append(f"Bag-Size: {_human_size(octets)}\n")
    return "".join(lines).encode("utf-8")


def _check_label(label: str) -> None:
    if not isinstance(label, str) or not label:
        raise ValueError(f"bag-info label {label!r} must be a non-empty string")
    if any(c in label for c in ":\r\n"):
        raise ValueError(f"bag-info label {label!r} must not contain ':', CR or LF")
    if label != label.strip():
        raise ValueError(f"bag-info label {label!r} must not start or end with whitespace")


def _check_date(value: str) -> None:
    try:
        if not _DATE.fullmatch(value):
            raise ValueError
        date.fromisoformat(value)
    except (ValueError, TypeError):
        raise ValueError(f"Bagging-Date {value!r} is not a YYYY-MM-DD date") from None


def _fold(label: str, value: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"bag-info value for {label!r} must be a string")
    lines = _LINE_BREAK.split(value)
    if len(lines) == 1 and value == "":
        return ""
    for line in lines:
        if not line or line != line.strip():
            raise ValueError(
                f"bag-info value for {label!r} has an empty line or a line that starts "
                "or ends with whitespace; it would not survive folding"
            )
    return "\n ".join(lines)


def _human_size(octets: int) -> str:
    if octets < 1000:
        return f"{octets} B"
    size = float(octets)
    for unit in ("KB", "MB", "GB", "TB"):
        size /= 1000
        if size < 999.95 or unit == "TB":
            return f"{size:.1f} {unit}"
    raise AssertionError("unreachable")


def _write_synced(path: Path, content: bytes) -> None:
    with open(path, "xb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_directory(path: Path) -> None:
    # Makes the directory entries (new files, the rename) durable.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _check_existing(target: Path, manifest: bytes) -> None:
    existing_manifest = target / MANIFEST
    if not target.is_dir() or not existing_manifest.is_file():
        raise FileExistsError(f"{target} already exists and is not a bag; refusing to overwrite it")
    if existing_manifest.read_bytes() != manifest:
        raise FileExistsError(
            f"{target} already holds a bag with a different payload; a delivered "
            "archive package is never overwritten"
        )
    try:
        verify_bag(target)
    except ValueError as error:
        raise FileExistsError(
            f"{target} holds a bag with this payload's manifest but it fails "
            f"verification; not touching it: {error}"
        ) from error


# -- reading ----------------------------------------------------------------


def _parse_tags(content: bytes, name: str) -> dict[str, str]:
    """Parse a tag file, unfolding continuation lines (first value wins per label)."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"{name} is not UTF-8: {error}") from None
    tags: dict[str, str] = {}
    label: str | None = None
    value: list[str] = []

    def finish() -> None:
        if label is not None and label not in tags:
            tags[label] = "\n".join(value)

    for line in _LINE_BREAK.split(text):
        if not line.strip():
            continue
        if line[0] in " \t":
            if label is None:
                raise ValueError(f"{name} starts with a continuation line")
            value.append(line.lstrip(" \t"))
            continue
        finish()
        if ":" not in line:
            raise ValueError(f"{name} has a line without a label: {line!r}")
        label, rest = line.split(":", 1)
        value = [rest[1:] if rest[:1] in (" ", "\t") else rest]
    finish()
    return tags


def _parse_manifest(content: bytes, name: str, *, payload: bool = True) -> dict[str, str]:
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"{name} is not UTF-8: {error}") from None
    entries: dict[str, str] = {}
    for line in text.split("\n"):
        line = line.removesuffix("\r")
        if not line:
            continue
        match = _SHA256_LINE.fullmatch(line)
        if match is None:
            raise ValueError(f"{name} has a malformed line: {line!r}")
        digest, path = match.group(1).lower(), _decode_path(match.group(2))
        if payload:
            if not path.startswith("data/"):
                raise ValueError(f"{name} lists {path!r}, which is outside data/")
            safe_payload_path(path.removeprefix("data/"))
        elif "/" in path or "\\" in path or path in (".", "..", ""):
            raise ValueError(f"{name} lists {path!r}, which is not a top-level tag file")
        if path in entries:
            raise ValueError(f"{name} lists {path!r} more than once")
        entries[path] = digest
    return entries


def _payload_on_disk(root: Path) -> dict[str, int]:
    """Map each file under data/ to its size, as "data/<posix path>"."""
    found: dict[str, int] = {}
    for directory, _, names in os.walk(root / "data"):
        for file_name in names:
            full = Path(directory) / file_name
            found[full.relative_to(root).as_posix()] = full.stat().st_size
    return found


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
