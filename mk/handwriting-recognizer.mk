# hw-recognizer: the shipped CRNN+CTC checkpoint and the recognizer benchmark.
.PHONY: hw-recognizer hw-bench

## make hw-recognizer: re-train the shipped recognizer (17 train writers x 1200 words, 8 epochs; ~40 min on 1 busy core)
hw-recognizer: $(STAMP)
	nice $(PY) -m padl_lib.handwriting train --per-writer 1200 --epochs 8 --threads 1 -o padl_lib/data/handwriting/recognizer.pt

## make hw-bench: recognizer benchmark (bucketed vs unbucketed batches, greedy vs beam, seen vs unseen CER)
hw-bench: $(STAMP)
	$(PY) -m padl_lib.handwriting.bench --json artifacts/hw_recognizer_bench.json
