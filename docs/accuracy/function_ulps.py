"""PyTorch float32 exp / sigmoid / tanh error in ulps over every 64th float of a range (|x| >= 1e-30), against
float64 (the counterpart of Elmo.Tests/Accuracy/AccuracyProbe.FunctionUlps). /usr/bin/python3 docs/accuracy/function_ulps.py"""
import numpy as np, torch

def sweep(lo, hi, step=64):
    tiny = np.float32(1e-30).view(np.int32)
    neg = np.arange(np.float32(-lo).view(np.int32), tiny - 1, -step, dtype=np.int64).astype(np.int32).view(np.float32)
    pos = np.arange(tiny, np.float32(hi).view(np.int32) + 1, step, dtype=np.int64).astype(np.int32).view(np.float32)
    return np.concatenate([-neg, pos])

def ulp_of(exact):
    e = np.frexp(np.abs(exact))[1] - 1                      # exact in [2^e, 2^(e+1))
    return np.ldexp(1.0, np.maximum(e, -126) - 23)

for name, lo, hi, f32, f64 in [
    ("exp", -87, 88, torch.exp, np.exp),
    ("sigmoid", -40, 40, torch.sigmoid, lambda v: 1 / (1 + np.exp(-v))),
    ("tanh", -12, 12, torch.tanh, np.tanh),
]:
    x = sweep(lo, hi)
    got = f32(torch.from_numpy(x)).numpy().astype(np.float64)
    exact = f64(x.astype(np.float64))
    ok = exact != 0
    err = np.abs(got[ok] - exact[ok]) / ulp_of(exact[ok])
    i = np.argmax(err)
    print(f"{name} on [{lo}, {hi}]: max {err[i]:.3f} ulp at {x[ok][i]!r}, mean {err.mean():.4f} ulp ({ok.sum()} values)")
