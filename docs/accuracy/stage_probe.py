"""PyTorch float32's local error per stage of the biLM, against float64 on the same float32-rounded input.

The counterpart of Elmo.Tests/Accuracy/StageErrorProbe.cs (same model, sentences, stages and definitions), with the
operations AllenNLP uses (Conv1d with its bias, Linear/addmm, torch.sigmoid/tanh, the cell update of
LstmCellWithProjection). Run with Debian's Python from ../shared/peer/setup.sh:
    /usr/bin/python3 docs/accuracy/stage_probe.py OPTIONS.json WEIGHTS.hdf5 CORPUS [SENTENCES]
"""
import json, sys
import h5py, numpy as np, torch

torch.set_num_threads(1)
opts = json.load(open(sys.argv[1]))
W = h5py.File(sys.argv[2], "r")
nsent = int(sys.argv[4]) if len(sys.argv) > 4 else 4
sentences = [l.split() for l in open(sys.argv[3], encoding="utf-8").read().split("\n")[:nsent]]
cnn, lstm = opts["char_cnn"], opts["lstm"]
filters, d, chars = cnn["filters"], cnn["embedding"]["dim"], cnn["max_characters_per_token"]
P, C = lstm["projection_dim"], lstm["dim"]
cell_clip, proj_clip = lstm["cell_clip"], lstm["proj_clip"]

rows = {}
def stat(name):
    rows.setdefault(name, [0.0, 0.0, 0, 0.0])
    return rows[name]
def add(name, ours, exact):
    ours = np.asarray(ours, np.float64); exact = np.asarray(exact, np.float64)
    e = np.abs(ours - exact); r = stat(name)
    r[0] = max(r[0], e.max()); r[1] += e.sum(); r[2] += e.size; r[3] = max(r[3], np.abs(exact).max())

def ids(token):
    if token == "<S>": core = [256]
    elif token == "</S>": core = [257]
    else: core = list(token.encode("utf-8"))[: chars - 2]
    v = [258] + core + [259]
    return np.array(v + [260] * (chars - len(v))) + 1

t32 = lambda a: torch.tensor(np.asarray(a, np.float32))
t64 = lambda a: torch.tensor(np.asarray(np.asarray(a, np.float32), np.float64))  # the same rounded input, widened
emb = W["char_embed"][...]
tokens = list(dict.fromkeys(["<S>"] + [t for s in sentences for t in s] + ["</S>"]))
# Char CNN, highway, projection over all distinct tokens at once (AllenNLP runs them over the whole batch).
E = np.stack([emb[ids(tok) - 1].T for tok in tokens])      # (tokens, d, chars), exact floats
parts = []
for i, (w, n) in enumerate(filters):
    k = W[f"CNN/W_cnn_{i}"][...][0]                      # (w, d, n)
    b = W[f"CNN/b_cnn_{i}"][...]
    weight = np.transpose(k, (2, 1, 0))                  # Conv1d weight (n, d, w)
    y32 = torch.nn.functional.conv1d(t32(E), t32(weight), t32(b)).numpy()
    y64 = torch.nn.functional.conv1d(t64(E), t64(weight), t64(b)).numpy()
    add(f"convolution, width {w} (+ bias)", y32, y64)
    parts.append(np.maximum(y64.max(axis=2), 0))
x = np.concatenate(parts, 1)                              # (tokens, F), exact track
F = x.shape[1]
for l in range(cnn["n_highway"]):
    wt, wc = W[f"CNN_high_{l}/W_transform"][...], W[f"CNN_high_{l}/W_carry"][...]
    bt, bc = W[f"CNN_high_{l}/b_transform"][...], W[f"CNN_high_{l}/b_carry"][...]
    Wcat, bcat = np.concatenate([wt, wc], 1).T, np.concatenate([bt, bc])   # Linear weight (2F, F)
    add(f"highway {l}: x·[W_t|W_c] + b", torch.nn.functional.linear(t32(x), t32(Wcat), t32(bcat)).numpy(),
        torch.nn.functional.linear(t64(x), t64(Wcat), t64(bcat)).numpy())
    pre = x @ np.concatenate([wt, wc], 1).astype(np.float64) + bcat    # exact track
    def combine(tt):
        p, xx = tt(pre), tt(x)
        g = torch.sigmoid(p[:, F:])
        return g * torch.relu(p[:, :F]) + (1 - g) * xx
    add(f"highway {l}: g·relu(t) + (1 − g)·x", combine(t32).numpy(), combine(t64).numpy())
    g = 1 / (1 + np.exp(-pre[:, F:]))
    x = g * np.maximum(pre[:, :F], 0) + (1 - g) * x
wp, bp = W["CNN_proj/W_proj"][...], W["CNN_proj/b_proj"][...]
add("projection = layer 0", torch.nn.functional.linear(t32(x), t32(wp.T), t32(bp)).numpy(),
    torch.nn.functional.linear(t64(x), t64(wp.T), t64(bp)).numpy())
tok_vec = x @ wp.astype(np.float64) + bp
exact_token = {tok: tok_vec[i] for i, tok in enumerate(tokens)}

# LSTM, forward direction: the sentences as one batch, the rows still running at each step (as AllenNLP does).
sig = lambda v: 1 / (1 + np.exp(-v))
seqs = sorted([["<S>"] + s + ["</S>"] for s in sentences], key=len, reverse=True)
T = len(seqs[0])
inp = [[exact_token[t] for t in s] for s in seqs]
for l in range(lstm["n_layers"]):
    pre = f"RNN_0/RNN/MultiRNNCell/Cell{l}/LSTMCell"
    W0, B, WP = W[f"{pre}/W_0"][...], W[f"{pre}/B"][...].copy(), W[f"{pre}/W_P_0"][...]
    B[2 * C:3 * C] += 1                                   # float32, as AllenNLP's loader does
    Wx, Wh = W0[:P].T, W0[P:].T                           # Linear weights (4C, P)
    h, c = np.zeros((len(seqs), P)), np.zeros((len(seqs), C))
    out = [[None] * len(s) for s in seqs]
    for t in range(T):
        n = sum(len(s) > t for s in seqs)
        x = np.stack([inp[r][t] for r in range(n)])
        hh, cc = h[:n], c[:n]
        def gates(tt):
            return torch.nn.functional.linear(tt(x), tt(Wx)) + torch.nn.functional.linear(tt(hh), tt(Wh), tt(B))
        add(f"LSTM layer {l + 1}: gates", gates(t32).numpy(), gates(t64).numpy())
        z = x @ Wx.T.astype(np.float64) + hh @ Wh.T.astype(np.float64) + B.astype(np.float64)
        def cell(tt):
            zz = tt(z); i, j, f, o = zz[:, :C], zz[:, C:2 * C], zz[:, 2 * C:3 * C], zz[:, 3 * C:]
            m = torch.sigmoid(i) * torch.tanh(j) + torch.sigmoid(f) * tt(cc)
            return torch.clamp(m, -cell_clip, cell_clip), torch.sigmoid(o)
        m32, o32 = cell(t32); m64, _ = cell(t64)
        add(f"LSTM layer {l + 1}: cell", m32.numpy(), m64.numpy())
        add(f"LSTM layer {l + 1}: σ(o)·tanh(c)", (o32 * torch.tanh(m32)).numpy(), (torch.sigmoid(t64(z)[:, 3 * C:]) * torch.tanh(m32.double())).numpy())
        cn = np.clip(sig(z[:, :C]) * np.tanh(z[:, C:2 * C]) + sig(z[:, 2 * C:3 * C]) * cc, -cell_clip, cell_clip)
        hpre = sig(z[:, 3 * C:]) * np.tanh(cn)
        def project(tt):
            return torch.clamp(torch.nn.functional.linear(tt(hpre), tt(WP.T)), -proj_clip, proj_clip)
        add(f"LSTM layer {l + 1}: projection, clip", project(t32).numpy(), project(t64).numpy())
        hn = np.clip(hpre @ WP.astype(np.float64), -proj_clip, proj_clip)
        if l > 0:
            add(f"LSTM layer {l + 1}: + skip", (t32(hn) + t32(x)).numpy(), (t64(hn) + t64(x)).numpy())
        for r in range(n):
            out[r][t] = hn[r] + x[r] if l > 0 else hn[r]
        h[:n], c[:n] = hn, cn
    inp = out

print(f"{len(tokens)} distinct tokens, {len(sentences)} sentences, forward direction; torch {torch.__version__}")
print("| stage | PyTorch float32 local: max / mean |")
print("| --- | --- |")
for name, (mx, sm, n, mag) in rows.items():
    print(f"| {name} | {mx:.2E} / {sm / n:.2E} (|x| ≤ {mag:.3g}) |")
