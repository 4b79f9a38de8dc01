# hw-gan: the few-shot style GAN and the adaptation study (see report/chapters/handwriting.tex).
HW_DATA := padl_lib/data/handwriting
.PHONY: hw-gan hw-study

## make hw-gan: re-train the shipped style GAN (pre-training without CTC, then with the recognizer's CTC)
hw-gan: $(STAMP)
	nice $(PY) -m padl_lib.handwriting train-gan --no-ctc --steps 1200 -o $(HW_DATA)/style_gan.pt
	nice $(PY) -m padl_lib.handwriting train-gan --no-ctc --resume $(HW_DATA)/style_gan.pt --steps 250 -o $(HW_DATA)/style_gan.pt
	nice $(PY) -m padl_lib.handwriting train-gan --resume $(HW_DATA)/style_gan.pt --steps 300 -o $(HW_DATA)/style_gan.pt

## make hw-study: the adaptation study on the held-out writers (seed 0 with the independent reader, and seed 1; ~25 min)
hw-study: $(STAMP)
	nice $(PY) -m padl_lib.handwriting experiment --jobs 2 --independent-reader --json $(HW_DATA)/study.json
	nice $(PY) -m padl_lib.handwriting experiment --jobs 2 --seed 1 --json $(HW_DATA)/study_seed1.json
