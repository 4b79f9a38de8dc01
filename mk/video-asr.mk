# video: `make video-bench` measures WER, word boundaries and speed of transcription, then render speed, lip sync and the edit round trip.
.PHONY: video-bench video-transcribe

## make video-bench: WER, word boundaries, real-time factor, then render speed, lip sync and the edit round trip
video-bench: $(STAMP)
	$(PY) -m padl_lib.video.bench --threads 2

## make video-transcribe MEDIA=file: transcript with word timings next to MEDIA
video-transcribe: $(STAMP)
	@test -n "$(MEDIA)" || { echo "usage: make video-transcribe MEDIA=recording.mp4"; exit 2; }
	$(PY) -m padl_lib.video transcribe "$(MEDIA)"
