"""Model store: versioned model artefacts on disk, checked by SHA-256 before use. No pickle.

Layout of a store folder (the shipped one is ``src/arrears/models/``)::

    registry.json              {"format": ..., "current": "<version>",
                                "models": {"<version>": {"manifest_sha256": "<hex>"}}}
    <version>/manifest.json    version, features, training-data SHA-256, metrics, dates, code
                               version, and "files": {name: sha256} of every artefact file
    <version>/<file>           artefacts: LightGBM native text, scorecard table (JSON), ...

Loading (:func:`load_model`) refuses, with an error naming the file and the reason, a model
whose manifest's SHA-256 differs from the one the registry pinned when the model was saved, or
whose artefact file is missing or differs from the SHA-256 in the manifest: a tampered or
damaged model never scores anyone. The store only moves bytes and checks hashes; turning the
artefacts into a scoring model is :mod:`arrears.pipeline.modelling.registered`'s job.

Limits: the hashes detect accidental damage and edits made without rewriting the registry;
someone able to rewrite every file, registry included, can replace a model (signing the
registry would close that; not done).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REGISTRY_FILE = "registry.json"
MANIFEST_FILE = "manifest.json"
REGISTRY_FORMAT = "arrears.model_registry/1"
MANIFEST_FORMAT = "arrears.model_manifest/1"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


class ModelStoreError(ValueError):
    """A model cannot be saved or loaded: unknown version, bad name, damaged or tampered file."""


@dataclass(frozen=True)
class StoredModel:
    """A verified model: its manifest and the bytes of each artefact file.

    Attributes
    ----------
    version : str
    path : Path
        Folder of the version.
    manifest : dict
        The parsed ``manifest.json``.
    files : dict of str to bytes
        Artefact name -> content, every one verified against the manifest.
    """

    version: str
    path: Path
    manifest: dict[str, Any]
    files: dict[str, bytes]

    def text(self, name: str) -> str:
        """Artefact ``name`` decoded as UTF-8.

        Raises
        ------
        ModelStoreError
            If the model has no such artefact.
        """
        if name not in self.files:
            raise ModelStoreError(f"model {self.version}: no artefact {name!r}")
        return self.files[name].decode("utf-8")


def sha256_bytes(data: bytes) -> str:
    """Lower-case hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def _check_name(kind: str, name: str) -> None:
    if not _NAME.fullmatch(name) or name in (MANIFEST_FILE, REGISTRY_FILE):
        raise ModelStoreError(
            f"{kind} name {name!r} is not allowed (letters, digits, '.', '_', '-'; no paths)"
        )


def _read_registry(root: Path) -> dict[str, Any]:
    path = root / REGISTRY_FILE
    if not path.is_file():
        return {"format": REGISTRY_FORMAT, "current": None, "models": {}}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelStoreError(f"{path}: line {exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict) or data.get("format") != REGISTRY_FORMAT:
        raise ModelStoreError(f"{path}: not a model registry (format {REGISTRY_FORMAT})")
    if not isinstance(data.get("models"), dict):
        raise ModelStoreError(f"{path}: field models missing or not an object")
    return data


def _write_json(path: Path, data: Mapping[str, Any]) -> bytes:
    raw = (json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n").encode("utf-8")
    path.write_bytes(raw)
    return raw


def save_model(
    root: Path,
    version: str,
    files: Mapping[str, bytes],
    manifest: Mapping[str, Any],
    *,
    make_current: bool = True,
    overwrite: bool = False,
) -> Path:
    """Write a model version and pin its manifest's SHA-256 in the registry.

    Parameters
    ----------
    root : Path
        Store folder (created if absent).
    version : str
        Version name (letters, digits, ``.``, ``_``, ``-``).
    files : mapping of str to bytes
        Artefact name -> content.
    manifest : mapping
        Metadata; ``format``, ``version`` and ``files`` (name -> SHA-256) are set here.
    make_current : bool, default True
        Make this the version :func:`load_model` returns by default.
    overwrite : bool, default False
        Replace an existing version of the same name.

    Returns
    -------
    Path
        The version's folder.

    Raises
    ------
    ModelStoreError
        Bad names, no files, or an existing version without ``overwrite``.
    """
    _check_name("version", version)
    if not files:
        raise ModelStoreError("a model needs at least one artefact file")
    for name in files:
        _check_name("artefact", name)
    registry = _read_registry(root)
    folder = root / version
    if (folder.exists() or version in registry["models"]) and not overwrite:
        raise ModelStoreError(f"model version {version!r} already exists in {root}")
    folder.mkdir(parents=True, exist_ok=True)
    hashes = {}
    for name, content in sorted(files.items()):
        (folder / name).write_bytes(content)
        hashes[name] = sha256_bytes(content)
    full = {**dict(manifest), "format": MANIFEST_FORMAT, "version": version, "files": hashes}
    raw = _write_json(folder / MANIFEST_FILE, full)
    registry["models"][version] = {"manifest_sha256": sha256_bytes(raw)}
    if make_current or registry.get("current") is None:
        registry["current"] = version
    _write_json(root / REGISTRY_FILE, registry)
    return folder


def list_models(root: Path) -> list[str]:
    """Versions registered in ``root``, sorted."""
    return sorted(_read_registry(root)["models"])


def current_version(root: Path) -> str:
    """The registry's current version.

    Raises
    ------
    ModelStoreError
        If the store has no registered model.
    """
    current = _read_registry(root).get("current")
    if not isinstance(current, str):
        raise ModelStoreError(f"{root / REGISTRY_FILE}: no current model registered")
    return current


def load_model(root: Path, version: str | None = None) -> StoredModel:
    """Read and verify a model version (default: the current one).

    Raises
    ------
    ModelStoreError
        Unknown version; a manifest or artefact file missing, unreadable or whose SHA-256
        differs from the one recorded (tampering or damage): the message names the file.
    """
    registry = _read_registry(root)
    version = version or current_version(root)
    entry = registry["models"].get(version)
    if not isinstance(entry, dict):
        known = ", ".join(sorted(registry["models"])) or "none"
        raise ModelStoreError(f"unknown model version {version!r} in {root} (known: {known})")
    folder = root / version
    manifest_path = folder / MANIFEST_FILE
    if not manifest_path.is_file():
        raise ModelStoreError(f"{manifest_path}: manifest missing; refusing to load {version}")
    raw = manifest_path.read_bytes()
    if sha256_bytes(raw) != entry.get("manifest_sha256"):
        raise ModelStoreError(
            f"{manifest_path}: SHA-256 differs from the one registered in "
            f"{root / REGISTRY_FILE}; the manifest was altered; refusing to load {version}"
        )
    manifest = json.loads(raw)
    if manifest.get("format") != MANIFEST_FORMAT or manifest.get("version") != version:
        raise ModelStoreError(f"{manifest_path}: not a manifest of version {version}")
    files: dict[str, bytes] = {}
    for name, expected in dict(manifest.get("files", {})).items():
        _check_name("artefact", name)
        path = folder / name
        if not path.is_file():
            raise ModelStoreError(f"{path}: artefact missing; refusing to load {version}")
        content = path.read_bytes()
        got = sha256_bytes(content)
        if got != expected:
            raise ModelStoreError(
                f"{path}: SHA-256 {got[:16]}... differs from {str(expected)[:16]}... in the "
                f"manifest; the file was altered or damaged; refusing to load {version}"
            )
        files[name] = content
    return StoredModel(version, folder, manifest, files)
