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


def read_gguf(path):
    """(kvs, tensors) of a GGUF v3 file written by write_gguf: kvs {key: value}, tensors {name: np.float32 array
    in PyTorch [out, in] order}; Q8_0 tensors come back dequantized. For a second training stage that starts from
    a shipped file."""
    with open(path, "rb") as f:
        buf = f.read()
    pos = 0

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from(fmt, buf, pos)
        pos += struct.calcsize(fmt)
        return v if len(v) > 1 else v[0]

    def string():
        nonlocal pos
        n = take("<Q")
        s = buf[pos:pos + n].decode("utf-8")
        pos += n
        return s

    scalar = {T_U32: "<I", T_I32: "<i", T_F32: "<f", T_BOOL: "<?"}

    def value(vtype):
        if vtype in scalar:
            return take(scalar[vtype])
        if vtype == T_STR:
            return string()
        if vtype == T_ARR:
            etype, n = take("<IQ")
            return [value(etype) for _ in range(n)]
        raise ValueError(f"{path}: value type {vtype} is not one write_gguf writes")

    if buf[:4] != GGUF_MAGIC:
        raise ValueError(f"{path}: not a GGUF file")
    pos = 4
    version, n_tensors, n_kv = take("<IQQ")
    if version != GGUF_VERSION:
        raise ValueError(f"{path}: GGUF version {version}, expected {GGUF_VERSION}")
    kvs = {}
    for _ in range(n_kv):
        key = string()
        kvs[key] = value(take("<I"))
    infos = []
    for _ in range(n_tensors):
        name = string()
        nd = take("<I")
        ne = [take("<Q") for _ in range(nd)]
        gtype, offset = take("<IQ")
        infos.append((name, ne, gtype, offset))
    base = pos + (-pos) % ALIGN
    tensors = {}
    for name, ne, gtype, offset in infos:
        shape = tuple(reversed(ne))
        count = int(np.prod(shape))
        if gtype == GGML_F32:
            arr = np.frombuffer(buf, dtype="<f4", count=count, offset=base + offset)
        elif gtype == GGML_Q8_0:
            blocks = np.frombuffer(buf, dtype=[("d", "<f2"), ("qs", "i1", (32,))], count=count // 32,
                                   offset=base + offset)
            arr = blocks["d"].astype(np.float32)[:, None] * blocks["qs"].astype(np.float32)
        else:
            raise ValueError(f"{path}: tensor {name} has ggml type {gtype}, not F32 or Q8_0")
        tensors[name] = np.array(arr, dtype=np.float32).reshape(shape)
    return kvs, tensors
