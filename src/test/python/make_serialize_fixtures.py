"""Writes the PyTorch checkpoint fixtures of the serialization tests.

Run with a Python that has torch (Debian's python3-torch):

    /usr/bin/python3 src/test/python/make_serialize_fixtures.py

It writes into src/test/resources/fixtures/serialize/:
  model.pt       torch.save(model.state_dict()): an OrderedDict with several
                 dtypes, a 0-d and an empty tensor, and views that share a
                 storage with another entry (transposed, sliced with an offset,
                 strided)
  model.json     for each key, in state-dict order: dtype, shape, stride,
                 storage_offset and the values, row-major (floats as Python
                 floats, bools as 0/1)
"""
import json
import os
import sys

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "resources", "fixtures", "serialize")


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(2, 3, 3)
        self.norm = torch.nn.GroupNorm(1, 3)
        self.lin = torch.nn.Linear(4, 3)
        w = self.lin.weight.detach()
        # Views of the linear weight: saved with the weight's storage, not copies.
        self.register_buffer("lin_weight_t", w.t())
        self.register_buffer("lin_weight_row", w[1])
        self.register_buffer("lin_weight_cols", w[:, 1::2])
        self.register_buffer("f64", torch.linspace(-1, 1, 5, dtype=torch.float64))
        self.register_buffer("f16", torch.tensor([0.5, -2.0, 65504.0], dtype=torch.float16))
        self.register_buffer("bf16", torch.tensor([[1.5, -3.0], [0.0078125, 256.0]], dtype=torch.bfloat16))
        self.register_buffer("i64", torch.tensor([-(2 ** 40), 0, 2 ** 40 + 7], dtype=torch.int64))
        self.register_buffer("i32", torch.arange(-3, 3, dtype=torch.int32).reshape(2, 3))
        self.register_buffer("i16", torch.tensor([-32768, 32767], dtype=torch.int16))
        self.register_buffer("i8", torch.tensor([-128, 5, 127], dtype=torch.int8))
        self.register_buffer("u8", torch.tensor([0, 200, 255], dtype=torch.uint8))
        self.register_buffer("flags", torch.tensor([True, False, True, True]))
        self.register_buffer("scalar", torch.tensor(3.25))
        self.register_buffer("empty", torch.zeros(0, 4))


def values(t):
    flat = t.contiguous().reshape(-1)
    if t.dtype == torch.bool:
        return [int(v) for v in flat.tolist()]
    if t.dtype.is_floating_point:
        return [float(v) for v in flat.to(torch.float64).tolist()]
    return [int(v) for v in flat.tolist()]


def main():
    torch.manual_seed(20240611)
    model = Block()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p))
    sd = model.state_dict()
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "model.pt")
    torch.save(sd, path)
    expected = []
    for k, t in sd.items():
        expected.append({
            "key": k,
            "dtype": str(t.dtype).replace("torch.", ""),
            "shape": list(t.shape),
            "stride": list(t.stride()),
            "storage_offset": t.storage_offset(),
            "values": values(t),
        })
    with open(os.path.join(OUT, "model.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    # The fixture must read back as saved.
    back = torch.load(path)
    assert list(back.keys()) == list(sd.keys())
    for k in sd:
        assert torch.equal(back[k], sd[k]), k
    print("wrote", path, os.path.getsize(path), "bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
