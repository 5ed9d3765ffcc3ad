#!/usr/bin/env bash
# meson test gpu-clocks: bench/gpu_clocks.sh and .py against a stand-in nvidia-smi that prints
# known samples; the summary must say exactly what they hold.
set -u
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/bin"
cat >"$tmp/bin/nvidia-smi" <<'FAKE'
#!/usr/bin/env bash
case "$*" in *clocks_event_reasons.active\ --format=csv) echo "[Not Supported]"; exit 1 ;; esac # an older driver
case "$*" in *clocks_throttle_reasons.active*) ;; *) echo "bad query: $*" >&2; exit 2 ;; esac
while :; do
    echo "2026/12/04 13:14:34.150, 0, 1620, 659.68, 700.00, 0x0000000000000004"
    echo "2026/12/04 13:14:34.150, 1, 1980, 90.00, 700.00, 0x0000000000000000"
    echo "2026/12/04 13:14:34.170, 0, 1500, 690.10, 700.00, 0x0000000000000004"
    echo "2026/12/04 13:14:34.180, 0, 1965, 500.10, 700.00, 0x0000000000000000"
    sleep 0.02
done
FAKE
chmod +x "$tmp/bin/nvidia-smi"
fail=0
pid=$(PATH="$tmp/bin:$PATH" bash "$here/gpu_clocks.sh" start "$tmp/c.csv" 20)
[ -n "$pid" ] || { echo "FAIL: no sampler started"; exit 1; }
sleep 0.3
out=$(PATH="$tmp/bin:$PATH" bash "$here/gpu_clocks.sh" stop "$pid" "$tmp/c.csv" "bench cuda:0")
st=$(ps -o stat= -p "$pid" 2>/dev/null)
if [ -n "$st" ] && [[ $st != Z* ]]; then echo "FAIL: the sampler still runs"; kill "$pid"; fail=1; fi
# Per round of four lines GPU 0 has 3 samples, all busy, 2 of them power-capped (a round cut by
# the kill can shift the counts, not the clock, power or share).
re='^bench cuda:0: gpu 0: ([0-9]+) of ([0-9]+) samples busy; SM clock MHz min 1500 median 1620 max 1965; power W median 660 max 690 \(limit 700\); power cap active in 67% of busy samples$'
line0=$(echo "$out" | grep "gpu 0:")
if [[ ! $line0 =~ $re ]]; then echo "FAIL: gpu 0 summary: $line0"; fail=1; fi
if ! echo "$out" | grep -q "^bench cuda:0: gpu 1: [0-9]* samples, none busy (power over 40% of the limit); SM clock MHz min 1980 median 1980 max 1980$"; then echo "FAIL: gpu 1 summary: $out"; fail=1; fi
# No nvidia-smi: start prints nothing and stop says nothing.
pid=$(PATH="$tmp/none" /bin/bash "$here/gpu_clocks.sh" start "$tmp/d.csv")
out2=$(bash "$here/gpu_clocks.sh" stop "$pid" "$tmp/d.csv")
if [ -n "$pid" ] || [ -n "$out2" ]; then echo "FAIL: without nvidia-smi: pid '$pid', summary '$out2'"; fail=1; fi
[ $fail = 0 ] && echo "ok   gpu_clocks: $line0"
exit $fail
