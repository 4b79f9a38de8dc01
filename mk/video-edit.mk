# video-edit: render speed against plain ffmpeg ultrafast, lip sync after cuts and the edit round trip (transcribe -> edit -> render -> transcribe)
.PHONY: video-edit-bench

## make video-edit-bench: render speed against plain ffmpeg, lip sync after cuts and the edit round trip
video-edit-bench: $(STAMP)
	$(PY) -m padl_lib.video.render_bench
