"""Minimal GGUF v3 writer for a qwen2 model (F32 or Q8_0), written from the format description."""
import struct
import numpy as np

GGUF_MAGIC, GGUF_VERSION, ALIGN = b"GGUF", 3, 32
T_U32, T_I32, T_F32, T_BOOL, T_STR, T_ARR = 4, 5, 6, 7, 8, 9
GGML_F32, GGML_Q8_0 = 0, 8


def _str(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def _kv(key, vtype, value):
    out = _str(key) + struct.pack("<I", vtype)
    if vtype == T_U32:
        out += struct.pack("<I", value)
    elif vtype == T_I32:
        out += struct.pack("<i", value)
    elif vtype == T_F32:
        out += struct.pack("<f", value)
    elif vtype == T_BOOL:
        out += struct.pack("<?", value)
    elif vtype == T_STR:
        out += _str(value)
    elif vtype == T_ARR:
        etype, items = value
        out += struct.pack("<IQ", etype, len(items))
        if etype == T_STR:
            out += b"".join(_str(x) for x in items)
        elif etype == T_I32:
            out += np.asarray(items, dtype="<i4").tobytes()
        else:
            raise ValueError(etype)
    else:
        raise ValueError(vtype)
    return out


def quantize_q8_0(x):
    """Rows of 32-blocks: fp16 d = max|x|/127, int8 q = round(x/d) (round half away from zero, like roundf)."""
    x = np.asarray(x, dtype=np.float32).reshape(-1, 32)
    amax = np.abs(x).max(axis=1)
    d = amax / 127.0
    inv = np.where(d > 0, 1.0 / np.where(d > 0, d, 1), 0).astype(np.float32)
    v = x * inv[:, None]
    q = (np.sign(v) * np.floor(np.abs(v) + 0.5)).astype(np.int8)
    blocks = np.zeros(x.shape[0], dtype=[("d", "<f2"), ("qs", "i1", (32,))])
    blocks["d"] = d.astype(np.float16)
    blocks["qs"] = q
    return blocks.tobytes()


def dequantize_q8_0(x):
    """What a reader of the Q8_0 tensor gets back (used to evaluate the shipped quantized weights)."""
    x = np.asarray(x, dtype=np.float32)
    blocks = np.frombuffer(quantize_q8_0(x), dtype=[("d", "<f2"), ("qs", "i1", (32,))])
    return (blocks["d"].astype(np.float32)[:, None] * blocks["qs"].astype(np.float32)).reshape(x.shape)


def write_gguf(path, kvs, tensors, quant):
    """kvs: list of (key, type, value). tensors: list of (name, np.ndarray in PyTorch [out, in] order).
    quant: 'f32' or 'q8_0' (2-D tensors only; norms and biases stay F32 as llama.cpp's quantizer does)."""
    infos, blobs, offset = [], [], 0
    for name, arr in tensors:
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        if quant == "q8_0" and arr.ndim == 2 and arr.shape[1] % 32 == 0:
            gtype, data = GGML_Q8_0, quantize_q8_0(arr)
        else:
            gtype, data = GGML_F32, arr.astype("<f4").tobytes()
        ne = list(reversed(arr.shape))  # ggml ne[0] is the contiguous (innermost) dimension
        infos.append(_str(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", n) for n in ne)
                     + struct.pack("<IQ", gtype, offset))
        pad = (-len(data)) % ALIGN
        blobs.append(data + b"\0" * pad)
        offset += len(data) + pad
    head = GGUF_MAGIC + struct.pack("<IQQ", GGUF_VERSION, len(tensors), len(kvs))
    head += b"".join(_kv(*kv) for kv in kvs) + b"".join(infos)
    head += b"\0" * ((-len(head)) % ALIGN)
    with open(path, "wb") as f:
        f.write(head)
        for b in blobs:
            f.write(b)
