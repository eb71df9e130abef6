"""Hostile-file corpus generator (issue 8): damaged variants of VALID model and weights files.

`generate(sources, out_dir, seed)` takes valid files (real Keras fixtures and files minikeras wrote) and writes, for
each, a family of hostile variants: truncations at many offsets, seeded bit flips, foreign bytes under the right
suffix, structural damage (missing groups/attributes, wrong layer/weight counts), wrong shapes and dtypes (int,
float16, complex, strings), NaN/inf weights, declared shapes needing terabytes, hostile JSON configs (malformed,
10^4-deep, unknown classes, `Lambda`, custom objects, foreign `module` paths, keys of the wrong type) and hostile
zips (missing/extra members, path traversal), and global heaps that would hang the HDF5 library. Each `Case` says which calls to try and what must happen:

- ``"error"``: the call raises a `minikeras.saving.SavingError` subclass naming the file;
- ``"warn"``: the call succeeds and warns (NaN/inf weights);
- ``"any"``: the call either succeeds or raises a minikeras error (a flipped bit may land in weight data);
- ``"uncompiled"``: `load_model` returns the model with its weights, uncompiled, and warns (a `training_config`
  that cannot be honoured).
"""
from __future__ import annotations

import io
import json
import os
import shutil
import zipfile
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

import numpy as np


@dataclass
class Source:
    """A valid file: `kind` is 'legacy_weights', 'legacy_model', 'k3_weights' or 'keras'."""
    name: str
    path: str
    kind: str


@dataclass
class Case:
    name: str
    path: str
    source: str  # Source.name: the target model is the one that loads the pristine source
    ops: Dict[str, str]  # "load_weights" / "load_model" -> "error" | "warn" | "any"
    mention: List[str] = field(default_factory=list)  # strings the error must contain besides the path
    family: str = ""


SUFFIX = {"legacy_weights": ".h5", "legacy_model": ".h5", "k3_weights": ".weights.h5", "keras": ".keras"}


def _ops(kind: str, expect: str, config_only: bool = False) -> Dict[str, str]:
    if kind in ("legacy_weights", "k3_weights"):
        return {"load_weights": expect}
    if config_only:
        return {"load_model": expect}
    return {"load_weights": expect, "load_model": expect}


# ------------------------------------------------------------------------------------------ byte-level


def _byte_cases(src: Source, data: bytes, out: str, rng: np.random.Generator, n_trunc: int,
                n_flips: int) -> List[Case]:
    sfx = SUFFIX[src.kind]
    cases: List[Case] = []

    def emit(tag: str, blob: bytes, expect: str, family: str) -> None:
        p = os.path.join(out, f"{src.name}__{tag}{sfx}")
        with open(p, "wb") as fh:
            fh.write(blob)
        cases.append(Case(f"{src.name}/{tag}", p, src.name, _ops(src.kind, expect), family=family))

    size = len(data)
    offsets = {0, 1, 4, 8, 16, 64, 512, size // 2, size - 1, size - 16}
    offsets |= {int(x) for x in np.linspace(0, size - 1, n_trunc)}
    for off in sorted(o for o in offsets if 0 <= o < size):
        emit(f"truncate@{off}", data[:off], "error", "truncation")
    for i in range(n_flips):
        pos = int(rng.integers(0, size))
        bit = int(rng.integers(0, 8))
        blob = bytearray(data)
        blob[pos] ^= 1 << bit
        emit(f"bitflip{i}@{pos}.{bit}", bytes(blob), "any", "bit flip")
    # a bit flip in the first 8 bytes (HDF5 signature / zip local header magic) can never go unnoticed
    for i in range(4):
        blob = bytearray(data)
        blob[i] ^= 0x40
        emit(f"magicflip{i}", bytes(blob), "error", "bit flip")
        if sfx == ".keras":  # the first local header is metadata.json's: a weights-only load never reads it
            cases[-1].ops["load_weights"] = "any"
    emit("empty", b"", "error", "foreign bytes")
    emit("text", b"this is not a model file\n" * 40, "error", "foreign bytes")
    emit("random", rng.integers(0, 256, 4096, dtype=np.uint8).tobytes(), "error", "foreign bytes")
    emit("pickle", b"\x80\x04\x95cos\nsystem\n(S'echo pwned'\ntR.", "error", "foreign bytes")
    emit("gzip", b"\x1f\x8b\x08\x00" + bytes(200), "error", "foreign bytes")
    if sfx == ".keras":
        emit("hdf5_bytes", b"\x89HDF\r\n\x1a\n" + bytes(600), "error", "foreign bytes")
    else:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("config.json", "{}")
        emit("zip_bytes", buf.getvalue(), "error", "foreign bytes")
    return cases


# ------------------------------------------------------------------------------------------ HDF5 global heaps


def _heap_damage(blob: bytes) -> Dict[str, bytes]:
    """Damaged copies of an HDF5 file's first global heap collection ("GCOL", where variable-length strings such
    as the `backend` attribute live): a zeroed 4 KB block after its header (an empty object: the HDF5 library spins
    on it forever) and an object whose size runs past the collection."""
    pos = blob.find(b"GCOL\x01\x00\x00\x00")
    if pos < 0:
        return {}
    size = int.from_bytes(blob[pos + 8:pos + 16], "little")
    zeroed = bytearray(blob)
    end = min(pos + 16 + 4096, pos + size, len(blob))
    zeroed[pos + 16:end] = bytes(end - pos - 16)
    overrun = bytearray(blob)
    overrun[pos + 24:pos + 32] = (size * 4).to_bytes(8, "little")
    return {"gheap_zeroed": bytes(zeroed), "gheap_overrun": bytes(overrun)}


def _heap_cases(src: Source, data: bytes, out: str) -> List[Case]:
    cases = []
    if src.kind == "keras":
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = {n: zf.read(n) for n in zf.namelist()}
        for tag, blob in _heap_damage(members["model.weights.h5"]).items():
            p = os.path.join(out, f"{src.name}__inner_{tag}.keras")
            _zip(p, {**members, "model.weights.h5": blob})
            cases.append(Case(f"{src.name}/inner_{tag}", p, src.name, _ops(src.kind, "error"),
                              family="global heap"))
        return cases
    for tag, blob in _heap_damage(data).items():
        p = os.path.join(out, f"{src.name}__{tag}{SUFFIX[src.kind]}")
        with open(p, "wb") as fh:
            fh.write(blob)
        cases.append(Case(f"{src.name}/{tag}", p, src.name, _ops(src.kind, "error"), family="global heap"))
    return cases


# ------------------------------------------------------------------------------------------ HDF5 structure


def _weights_root(f):  # the legacy weights group of a weights file or a full-model file
    return f["model_weights"] if "model_weights" in f else f


def _first_dataset(g) -> Optional[str]:
    found: List[str] = []

    def visit(name, obj):
        import h5py

        if isinstance(obj, h5py.Dataset) and not found and not name.startswith("optimizer"):
            found.append(name)

    g.visititems(visit)
    return found[0] if found else None


def _replace_dataset(g, name: str, maker: Callable) -> None:
    old = np.asarray(g[name][()])
    del g[name]
    maker(g, name, old)


DATASET_EDITS: Dict[str, tuple] = {
    # name -> (maker(group, name, old), expectation, family)
    "shape": (lambda g, n, o: g.create_dataset(n, data=np.zeros(tuple(s + 1 for s in o.shape) + (1,), o.dtype)),
              "error", "wrong shape"),
    "scalar": (lambda g, n, o: g.create_dataset(n, data=np.float32(1.0)), "error", "wrong shape"),
    "int32": (lambda g, n, o: g.create_dataset(n, data=np.round(o * 100).astype(np.int32)), "any", "wrong dtype"),
    "float16": (lambda g, n, o: g.create_dataset(n, data=o.astype(np.float16)), "any", "wrong dtype"),
    "complex": (lambda g, n, o: g.create_dataset(n, data=o.astype(np.complex64)), "error", "wrong dtype"),
    "strings": (lambda g, n, o: g.create_dataset(n, data=np.full(o.shape, b"nan", dtype="S3")), "error",
                "wrong dtype"),
    "vlen_str": (lambda g, n, o: g.create_dataset(n, data="hello"), "error", "wrong dtype"),
    "group": (lambda g, n, o: g.create_group(n), "error", "missing groups/attributes"),
    "nan": (lambda g, n, o: g.create_dataset(n, data=np.where(np.arange(o.size).reshape(o.shape) == 0, np.nan, o)
                                             .astype(o.dtype)), "warn", "NaN/inf"),
    "inf": (lambda g, n, o: g.create_dataset(n, data=np.full(o.shape, np.inf, o.dtype)), "warn", "NaN/inf"),
    # ~4 TB of float32 declared; HDF5 allocates nothing until written, so the file stays tiny
    "huge": (lambda g, n, o: g.create_dataset(n, shape=(1 << 20, 1 << 20), dtype="float32"), "error",
             "huge declared shape"),
    "huge_chunked": (lambda g, n, o: g.create_dataset(n, shape=(1 << 16, 1 << 16), dtype="float32",
                                                      chunks=(64, 64)), "error", "huge declared shape"),
}


def _legacy_edits() -> Dict[str, tuple]:
    """name -> (edit(weights_group), expectation, family, mention-layer?)."""
    import h5py

    def first_layer_with_weights(g):
        from minikeras.saving.hdf5_legacy import load_attributes_from_hdf5_group as la

        return next(n for n in la(g, "layer_names") if la(g[n], "weight_names"))

    def del_layer_names(g):
        for k in [k for k in g.attrs if k.startswith("layer_names")]:
            del g.attrs[k]

    def names(g):
        from minikeras.saving.hdf5_legacy import load_attributes_from_hdf5_group as la

        return la(g, "layer_names")

    def set_names(g, key, values):
        g.attrs[key] = np.asarray([v.encode() for v in values], dtype="S")

    def wnames(g):
        from minikeras.saving.hdf5_legacy import load_attributes_from_hdf5_group as la

        return la(g, "weight_names")

    def dataset_edit(kind):
        def edit(g):
            layer = first_layer_with_weights(g)
            _replace_dataset(g[layer], wnames(g[layer])[0], DATASET_EDITS[kind][0])
        return edit

    edits = {
        "no_layer_names": (del_layer_names, "error", "missing groups/attributes", False),
        "layer_names_int": (lambda g: g.attrs.__setitem__("layer_names", np.arange(3)), "error",
                            "keys of the wrong type", False),
        "layer_names_extra": (lambda g: set_names(g, "layer_names", names(g) + ["ghost_layer"]), "error",
                              "wrong layer count", False),
        "layer_names_fewer": (lambda g: set_names(g, "layer_names",
                                                  [n for n in names(g) if n != first_layer_with_weights(g)]),
                              "error", "wrong layer count", False),
        "layer_group_missing": (lambda g: g.__delitem__(first_layer_with_weights(g)), "error",
                                "missing groups/attributes", False),
        "weight_names_fewer": (lambda g: set_names(g[first_layer_with_weights(g)], "weight_names",
                                                   wnames(g[first_layer_with_weights(g)])[:-1]), "error",
                               "wrong weight count", True),
        "weight_names_extra": (lambda g: set_names(g[first_layer_with_weights(g)], "weight_names",
                                                   wnames(g[first_layer_with_weights(g)]) + ["x/ghost:0"]), "error",
                               "wrong weight count", True),
        "weight_names_int": (lambda g: g[first_layer_with_weights(g)].attrs.__setitem__("weight_names",
                                                                                        np.arange(2)), "error",
                             "keys of the wrong type", False),
        "weight_names_missing": (lambda g: g[first_layer_with_weights(g)].attrs.__delitem__("weight_names"),
                                 "error", "missing groups/attributes", False),
        "keras_version_int": (lambda g: g.attrs.__setitem__("keras_version", 7), "any", "keys of the wrong type",
                              False),
        "soft_link": (lambda g: (lambda l: (_replace_dataset(g[l], wnames(g[l])[0], lambda gg, n, o:
                                                             gg.__setitem__(n, h5py.SoftLink("/nowhere")))))(
            first_layer_with_weights(g)), "error", "missing groups/attributes", True),
    }
    for kind in DATASET_EDITS:
        edits[f"ds_{kind}"] = (dataset_edit(kind), DATASET_EDITS[kind][1], DATASET_EDITS[kind][2],
                               DATASET_EDITS[kind][1] == "error")
    return edits


def _k3_edits() -> Dict[str, tuple]:
    def first_vars(f):
        name = _first_dataset(f["layers"])
        return "layers/" + name.rsplit("/", 1)[0], name.rsplit("/", 1)[1]

    def dataset_edit(kind):
        def edit(f):
            grp, ds = first_vars(f)
            _replace_dataset(f[grp], ds, DATASET_EDITS[kind][0])
        return edit

    def extra_var(f):
        grp, _ = first_vars(f)
        f[grp].create_dataset(str(len(f[grp])), data=np.zeros(3, "float32"))

    def drop_var(f):
        grp, _ = first_vars(f)
        del f[grp][str(len(f[grp]) - 1)]

    def rename_var(f):
        grp, ds = first_vars(f)
        f[grp].move(ds, "kernel")

    def drop_layer(f):  # the first layer that holds variables
        del f["layers/" + _first_dataset(f["layers"]).split("/")[0]]

    def extra_layer(f):
        f["layers"].create_group("ghost/vars").create_dataset("0", data=np.zeros(2, "float32"))

    def external(f):
        grp, ds = first_vars(f)
        old = f[grp][ds]
        shape, dtype = old.shape, old.dtype
        del f[grp][ds]
        f[grp].create_dataset(ds, shape=shape, dtype=dtype, external=[("/etc/hostname", 0, 1 << 20)])

    def ext_link(f):
        import h5py

        grp, ds = first_vars(f)
        del f[grp][ds]
        f[grp][ds] = h5py.ExternalLink("/etc/passwd.h5", "/x")

    edits = {
        "no_layers": (lambda f: f.__delitem__("layers"), "error", "missing groups/attributes", False),
        "layer_group_missing": (drop_layer, "error", "wrong layer count", False),
        "extra_layer": (extra_layer, "any", "wrong layer count", False),
        "var_missing": (drop_var, "error", "wrong weight count", True),
        "var_extra": (extra_var, "error", "wrong weight count", True),
        "var_renamed": (rename_var, "error", "keys of the wrong type", False),
        "external_storage": (external, "error", "missing groups/attributes", False),
        "external_link": (ext_link, "error", "missing groups/attributes", False),
    }
    for kind in DATASET_EDITS:
        edits[f"ds_{kind}"] = (dataset_edit(kind), DATASET_EDITS[kind][1], DATASET_EDITS[kind][2],
                               kind in ("shape", "scalar"))
    return edits


def _h5_cases(src: Source, out: str) -> List[Case]:
    import h5py

    sfx = SUFFIX[src.kind]
    cases = []
    edits = _legacy_edits() if src.kind.startswith("legacy") else _k3_edits()
    for tag, (edit, expect, family, mention) in edits.items():
        p = os.path.join(out, f"{src.name}__{tag}{sfx}")
        shutil.copyfile(src.path, p)
        with h5py.File(p, "r+") as f:
            root = _weights_root(f) if src.kind.startswith("legacy") else f
            if src.kind.startswith("legacy"):
                from minikeras.saving.hdf5_legacy import load_attributes_from_hdf5_group as la

                layer = next(n for n in la(root, "layer_names") if la(root[n], "weight_names"))
            else:
                layer = _first_dataset(root["layers"]).split("/")[0]
            edit(root)
        # the error must name the damaged layer (its group in the file)
        cases.append(Case(f"{src.name}/{tag}", p, src.name, _ops(src.kind, expect), family=family,
                          mention=[layer] if mention and layer else []))
    return cases


# ------------------------------------------------------------------------------------------ JSON configs


def _deep(n: int) -> str:
    return '{"a": ' * n + "1" + "}" * n


def config_edits(config: dict) -> Dict[str, tuple]:
    """name -> (new config.json text, family). Every one must be refused by `load_model`."""
    def with_layer(fn):
        c = json.loads(json.dumps(config))
        layers = c["config"]["layers"]
        idx = next(i for i, l in enumerate(layers) if l.get("class_name") != "InputLayer")
        layers[idx] = fn(layers[idx])
        return json.dumps(c)

    def setk(d, k, v):
        d = dict(d)
        d[k] = v
        return d

    def setc(l, k, v):
        l = dict(l)
        l["config"] = setk(l["config"], k, v)
        return l

    def top(k, v):
        c = json.loads(json.dumps(config))
        c[k] = v
        return json.dumps(c)

    def inner(k, v):
        c = json.loads(json.dumps(config))
        c["config"][k] = v
        return json.dumps(c)

    def drop_last_layer():
        c = json.loads(json.dumps(config))
        c["config"]["layers"] = c["config"]["layers"][:-1]
        return json.dumps(c)

    def nested_deep():
        return with_layer(lambda l: setc(l, "kernel_initializer", json.loads("[" * 500 + "]" * 500)))

    return {
        "json_malformed": (json.dumps(config)[:-7], "malformed JSON"),
        "json_garbage": ("{'class_name': Sequential,}", "malformed JSON"),
        "json_not_utf8": (b"\xff\xfe{\x00".decode("latin1"), "malformed JSON"),
        "json_list": ("[1, 2, 3]", "keys of the wrong type"),
        "json_deep_1e4": (_deep(10_000), "deeply nested JSON"),
        "json_deep_list_1e4": ("[" * 10_000 + "]" * 10_000, "deeply nested JSON"),
        "json_deep_in_layer": (nested_deep(), "deeply nested JSON"),
        "class_unknown": (with_layer(lambda l: setk(l, "class_name", "FancyAttention")), "unknown class name"),
        "class_model_unknown": (top("class_name", "Transformer"), "unknown class name"),
        # NOTE: a Keras 3 layer-case file is already a (chain) Functional model, which loads; rename it instead
        "class_functional": (top("class_name", "Functional" if config.get("class_name") != "Functional"
                                 else "Graph"), "unknown class name"),
        "class_lambda": (with_layer(lambda l: setk(setc(setc(l, "function", ["4wEAAAAAAAAA", None, None]),
                                                        "function_type", "lambda"), "class_name", "Lambda")),
                         "Lambda"),
        "custom_object": (with_layer(lambda l: setk(setk(l, "class_name", "MyCustomLayer"), "registered_name",
                                                    "Custom>MyCustomLayer")), "custom objects"),
        "module_os_system": (with_layer(lambda l: setk(setk(setc(l, "command", "touch /tmp/pwned"), "module", "os"),
                                                       "class_name", "system")), "module paths"),
        "module_subprocess": (with_layer(lambda l: setk(l, "module", "subprocess")), "module paths"),
        "module_builtins_eval": (with_layer(lambda l: setk(setk(l, "module", "builtins"), "class_name", "eval")),
                                 "module paths"),
        "initializer_module": (with_layer(lambda l: setc(l, "kernel_initializer",
                                                         {"module": "os", "class_name": "system",
                                                          "config": {}, "registered_name": None})), "module paths"),
        "activation_dunder": (with_layer(lambda l: setc(l, "activation", "__import__")), "unknown class name"),
        "class_name_int": (with_layer(lambda l: setk(l, "class_name", 42)), "keys of the wrong type"),
        "layer_config_list": (with_layer(lambda l: setk(l, "config", [1, 2])), "keys of the wrong type"),
        "layers_str": (inner("layers", "lstm"), "keys of the wrong type"),
        "config_str": (top("config", "oops"), "keys of the wrong type"),
        "units_str": (with_layer(lambda l: setc(l, "units", "abc")), "keys of the wrong type"),
        "units_negative": (with_layer(lambda l: setc(l, "units", -3)), "keys of the wrong type"),
        "units_huge": (with_layer(lambda l: setc(l, "units", 10 ** 12)), "huge declared shape"),
        "name_int": (with_layer(lambda l: setc(l, "name", 5)), "keys of the wrong type"),
        "unknown_kwarg": (with_layer(lambda l: setc(l, "evil_kwarg", 1)), "keys of the wrong type"),
        "layer_count": (drop_last_layer(), "wrong layer count"),
    }


def _legacy_model_config_cases(src: Source, out: str) -> List[Case]:
    import h5py

    with h5py.File(src.path, "r") as f:
        raw = f.attrs["model_config"]
    config = json.loads(raw.decode() if hasattr(raw, "decode") else raw)
    cases = []
    edits = dict(config_edits(config))
    for tag, (text, family) in edits.items():
        p = os.path.join(out, f"{src.name}__{tag}.h5")
        shutil.copyfile(src.path, p)
        with h5py.File(p, "r+") as f:
            f.attrs["model_config"] = text.encode("utf8", "surrogateescape") if tag != "json_not_utf8" \
                else np.bytes_(b"\xff\xfe{\x00")
        cases.append(Case(f"{src.name}/{tag}", p, src.name, {"load_model": "error"}, family=family))
    extra = {
        "model_config_missing": (lambda f: f.attrs.__delitem__("model_config"), "missing groups/attributes"),
        "model_config_int": (lambda f: f.attrs.__setitem__("model_config", 12), "keys of the wrong type"),
        "training_config_bad": (lambda f: f.attrs.__setitem__("training_config", b"{not json"), "malformed JSON"),
        "training_config_module": (lambda f: f.attrs.__setitem__("training_config", json.dumps(
            {"loss": "mse", "optimizer_config": {"class_name": "system", "module": "os", "config": {}}})),
            "module paths"),
        "training_config_list": (lambda f: f.attrs.__setitem__("training_config", "[1]"), "keys of the wrong type"),
        "no_model_weights": (lambda f: f.__delitem__("model_weights"), "missing groups/attributes"),
    }
    for tag, (edit, family) in extra.items():
        p = os.path.join(out, f"{src.name}__{tag}.h5")
        shutil.copyfile(src.path, p)
        with h5py.File(p, "r+") as f:
            edit(f)
        # a training_config that cannot be honoured costs only the compilation (as tf_keras): the model loads
        expect = "uncompiled" if tag.startswith("training_config") else "error"
        cases.append(Case(f"{src.name}/{tag}", p, src.name, {"load_model": expect}, family=family))
    return cases


# ------------------------------------------------------------------------------------------ .keras zips


def _zip(path: str, members: Dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for n, b in members.items():
            zf.writestr(zipfile.ZipInfo(n), b)


def _keras_cases(src: Source, out: str) -> List[Case]:
    import h5py

    with zipfile.ZipFile(src.path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    cases = []

    def emit(tag, mem, ops, family):
        p = os.path.join(out, f"{src.name}__{tag}.keras")
        _zip(p, mem)
        cases.append(Case(f"{src.name}/{tag}", p, src.name, ops, family=family))

    both_err = {"load_weights": "error", "load_model": "error"}
    emit("no_config", {k: v for k, v in members.items() if k != "config.json"}, {"load_model": "error"},
         "missing zip members")
    emit("no_weights", {k: v for k, v in members.items() if k != "model.weights.h5"}, both_err,
         "missing zip members")
    emit("only_metadata", {"metadata.json": members.get("metadata.json", b"{}")}, both_err, "missing zip members")
    emit("extra_member", {**members, "notes.txt": b"hello"}, {"load_weights": "any", "load_model": "any"},
         "extra zip members")
    emit("extra_npz", {**members, "model.weights.npz": b"PK"}, {"load_weights": "any", "load_model": "any"},
         "extra zip members")
    for tag, bad in [("traversal", "../x"), ("traversal_deep", "assets/../../evil.py"), ("absolute", "/tmp/evil"),
                     ("backslash", "..\\evil"), ("drive", "C:/evil")]:
        emit(tag, {**members, bad: b"pwned"}, both_err, "path traversal")
    emit("traversal_as_weights", {"config.json": members["config.json"], "../model.weights.h5":
                                  members["model.weights.h5"]}, both_err, "path traversal")
    config = json.loads(members["config.json"])
    for tag, (text, family) in config_edits(config).items():
        emit(tag, {**members, "config.json": text.encode("utf8", "surrogateescape")}, {"load_model": "error"},
             family)
    # weights inside the zip damaged as in .weights.h5 files
    wsrc = os.path.join(out, f"{src.name}__inner.weights.h5")
    with open(wsrc, "wb") as fh:
        fh.write(members["model.weights.h5"])
    for tag, (edit, expect, family, _) in _k3_edits().items():
        p = os.path.join(out, f"{src.name}__inner_{tag}.weights.h5")
        shutil.copyfile(wsrc, p)
        with h5py.File(p, "r+") as f:
            edit(f)
        with open(p, "rb") as fh:
            blob = fh.read()
        os.unlink(p)
        emit(f"inner_{tag}", {**members, "model.weights.h5": blob},
             {"load_weights": expect, "load_model": expect}, family)
    for off in (0, 8, len(members["model.weights.h5"]) // 2):
        emit(f"inner_truncate@{off}", {**members, "model.weights.h5": members["model.weights.h5"][:off]},
             both_err, "truncation")
    os.unlink(wsrc)
    return cases


# ------------------------------------------------------------------------------------------ entry point


def generate(sources: List[Source], out_dir: str, seed: int = 0, n_trunc: int = 12, n_flips: int = 16) -> List[Case]:
    """Write the corpus for `sources` into `out_dir`; returns its cases (deterministic for a given seed)."""
    rng = np.random.default_rng(seed)
    os.makedirs(out_dir, exist_ok=True)
    cases: List[Case] = []
    for src in sources:
        with open(src.path, "rb") as fh:
            data = fh.read()
        cases += _byte_cases(src, data, out_dir, rng, n_trunc, n_flips)
        cases += _heap_cases(src, data, out_dir)
        if src.kind == "keras":
            cases += _keras_cases(src, out_dir)
        else:
            cases += _h5_cases(src, out_dir)
        if src.kind == "legacy_model":
            cases += _legacy_model_config_cases(src, out_dir)
    return cases
