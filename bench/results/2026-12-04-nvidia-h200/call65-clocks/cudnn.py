import sys, torch, torch.nn.functional as F
from torch.nn.attention import sdpa_kernel, SDPBackend
S, reps = int(sys.argv[1]), int(sys.argv[2])
q = torch.randn(1, 32, S, 128, device="cuda", dtype=torch.bfloat16)
k = torch.randn(1, 8, S, 128, device="cuda", dtype=torch.bfloat16)
v = torch.randn(1, 8, S, 128, device="cuda", dtype=torch.bfloat16)
flop = 4 * 32 * S * S * 128 / 2
with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
    F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True); torch.cuda.synchronize()
    ev = [torch.cuda.Event(enable_timing=True) for _ in range(reps + 1)]
    ev[0].record()
    for i in range(reps):
        F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True); ev[i + 1].record()
    torch.cuda.synchronize()
ms = [ev[i].elapsed_time(ev[i + 1]) for i in range(reps)]
print(f"cudnn S={S} per rep ms:", " ".join(f"{m:.3f}" for m in ms), f"| TFLOP/s first {flop/ms[0]/1e9:.0f} last {flop/ms[-1]/1e9:.0f}")
