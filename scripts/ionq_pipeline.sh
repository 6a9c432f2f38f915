#!/usr/bin/env bash
# The IonQ path end to end, offline: train a 16-qubit hybrid model on the RHC ICU data →
# compile its circuits to Forte natives → validate them against exact simulation → send one
# compiled circuit as an IonQ job to the local emulator → run inference through the IonQ API
# (emulated, forte-1 noise, shots, post-selection) → train the final layer through the API.
#
#   scripts/ionq_pipeline.sh [OUT_DIR]        (default results/pipeline; ~2 min on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-results/pipeline}
mkdir -p "$OUT"
cargo build --release --quiet
BFLY=target/release/bfly
FEATURES=age,meanbp1,hrt1,resp1,temp1,pafi1,alb1,hema1,bili1,crea1,sod1,pot1,paco21,ph1,wblc1

echo "== 1. train: 16 qubits, 4 Butterfly layers, exact gradients (layer-wise)"
$BFLY train --data data/rhc.csv --target aps1 --features $FEATURES --qubits 16 --layers 4 \
    --epochs 8 --seed 1 --out "$OUT/model16.json"

echo "== 2. compile one sample's circuit to Forte natives (ZZ + GPi/GPi2) and to OpenQASM"
$BFLY validate --model "$OUT/model16.json" --target forte --inputs 1 --seed 7 \
    --save-circuit "$OUT/sample.json" >/dev/null
$BFLY compile --circuit "$OUT/sample.json" --target forte --out "$OUT/sample.forte.json" \
    --qasm "$OUT/sample.forte.qasm"
$BFLY validate --circuit "$OUT/sample.json" --compiled "$OUT/sample.forte.json"

echo "== 3. validate: the model's compiled circuits (Aria and Forte) vs exact simulation, 20 inputs"
$BFLY validate --model "$OUT/model16.json" --target forte --inputs 20
$BFLY validate --model "$OUT/model16.json" --target aria --inputs 20

echo "== 4. IonQ job JSON and a job on the local emulator (same endpoints and formats as the cloud)"
$BFLY ionq export --circuit "$OUT/sample.forte.json" --backend qpu.forte-1 --shots 1000 \
    --out "$OUT/job.forte.json"
$BFLY ionq-emulator --port 0 --api-key pipeline-key > "$OUT/emulator.log" &
EMU=$!
trap 'kill $EMU 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q "listening on" "$OUT/emulator.log" && break; sleep 0.1; done
URL=$(grep -o 'API v0.4 at [^ ,)]*' "$OUT/emulator.log" | awk '{print $4}')
IONQ_API_KEY=pipeline-key $BFLY ionq submit --circuit "$OUT/sample.forte.json" \
    --backend qpu.forte-1 --shots 1000 --noise forte-1 --wait --base-url "$URL" | head -12

echo "== 5. inference through the IonQ API (emulated): ideal, forte-1 noise, noise + post-selection"
$BFLY infer --model "$OUT/model16.json" --data data/rhc.csv --limit 200
$BFLY infer --model "$OUT/model16.json" --data data/rhc.csv --limit 200 --executor emulator \
    --ionq-backend qpu.forte-1 --noise forte-1 --trajectories 20 --shots 1000
$BFLY infer --model "$OUT/model16.json" --data data/rhc.csv --limit 200 --executor emulator \
    --ionq-backend qpu.forte-1 --noise forte-1 --trajectories 20 --shots 1000 \
    --postselect-weight 1 --out "$OUT/predictions.csv"

echo "== 6. train the final layer through the IonQ API (emulated QPU, parallel shift, 1000 shots)"
head -161 data/rhc.csv > "$OUT/rhc160.csv"
$BFLY train --data "$OUT/rhc160.csv" --target aps1 --features $FEATURES --qubits 16 --layers 4 \
    --epochs 1 --seed 1 --gradient parallel-shift --shots 1000 --executor emulator \
    --ionq-backend qpu.forte-1 --executor-from-stage 4 --out "$OUT/model16.emulator.json"
echo "pipeline outputs in $OUT"
