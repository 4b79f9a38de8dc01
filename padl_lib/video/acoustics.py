"""Frame-level signal measures of 16 kHz speech: energy, speech activity, voicing.

Frames are 10 ms (`HOP`), the aligner's frame rate, so frame `i` covers [i/100, (i+1)/100) s;
word edges next to silence are placed on a finer 5 ms grid (`FINE_HOP`).
"""
from __future__ import annotations

import numpy as np

from padl_lib.video.media import SAMPLE_RATE

HOP = SAMPLE_RATE // 100  # 10 ms
WINDOW = 2 * HOP  # 20 ms analysis window centred on each frame
FINE_HOP = HOP // 2  # 5 ms frames for word edges next to silence
BLOCK_FRAMES = 4096  # frames analysed at once (an hour's frames at once would need gigabytes)
DIGITAL_SILENCE_DB = -90.0  # frames this quiet hold no signal (16-bit quantization noise is ~-96 dB)
ROOM_TONE_REACH = 0.1  # s beside digital silence where its room tone is read
SPEECH_BANDS = ((100, 500), (500, 1500), (1500, 4000), (4000, 8000))  # Hz: voicing, formants, fricatives
BAND_MARGIN_DB = 20.0  # a band counts as sound this far over its own floor (or half way to its speech level)
BAND_RUN = 3  # frames in a row a band must stay over its threshold: a 10 ms click in one band is no speech
__all__ = ["HOP", "FINE_HOP", "SPEECH_BANDS", "frame_energy_db", "band_energy_db", "fill_digital_silence",
           "speech_threshold_db", "sound_frames", "voiced_frames", "quietest_time"]


def _frames(audio: np.ndarray, window: int = WINDOW, hop: int = HOP) -> np.ndarray:
    """Overlapping windows of `window` samples, one per `hop`-sample frame, centred on the frame
    (zero-padded edges)."""
    n = int(np.ceil(len(audio) / hop))
    left = (window - hop) // 2
    padded = np.pad(audio.astype(np.float32, copy=False), (left, n * hop - len(audio) + window))
    return np.lib.stride_tricks.sliding_window_view(padded, window)[::hop][:n]


def frame_energy_db(audio: np.ndarray, hop: int = HOP) -> np.ndarray:
    """Energy of each frame of `hop` samples (10 ms by default; 20 ms windows) in dB (relative
    to full scale; -100 dB for digital silence)."""
    if len(audio) == 0:
        return np.zeros(0, np.float32)
    frames = _frames(audio, WINDOW, hop)
    power = np.concatenate([np.mean(frames[k:k + BLOCK_FRAMES] ** 2, axis=1)
                            for k in range(0, len(frames), BLOCK_FRAMES)])
    return (10 * np.log10(power + 1e-10)).astype(np.float32)


def band_energy_db(audio: np.ndarray, bands: tuple[tuple[float, float], ...] = SPEECH_BANDS) -> np.ndarray:
    """Energy (dB, on the scale of `frame_energy_db`) of each 10 ms frame in each frequency band
    [lo, hi) Hz, from 20 ms Hann-windowed spectra: an array of frames x bands."""
    if len(audio) == 0:
        return np.zeros((0, len(bands)), np.float32)
    taper = np.hanning(WINDOW).astype(np.float32)
    freqs = np.fft.rfftfreq(WINDOW, 1 / SAMPLE_RATE)
    masks = np.stack([(freqs >= lo) & (freqs < hi) for lo, hi in bands], axis=1).astype(np.float32)
    scale = WINDOW * float(np.sum(taper ** 2)) / 2  # Parseval (one-sided): a band's share of the mean square
    frames = _frames(audio)
    power = np.concatenate([(np.abs(np.fft.rfft(frames[k:k + BLOCK_FRAMES] * taper, axis=1)) ** 2) @ masks
                            for k in range(0, len(frames), BLOCK_FRAMES)])
    return (10 * np.log10(power / scale + 1e-10)).astype(np.float32)


def fill_digital_silence(energy_db: np.ndarray, hop: int = HOP) -> np.ndarray:
    """`energy_db` with each run of digital silence (frames at or under DIGITAL_SILENCE_DB: a
    recorder's lead-in, a muted microphone, a noise gate) set to the level of the room tone it
    replaced: the lower quartile of the frames within ROOM_TONE_REACH s on either side (a gate's
    hold keeps some room tone beside its silence). As the zero it is, it would be taken for the
    room's noise floor and make the room tone beside it count as sound. Runs with no signal
    beside them stay."""
    silent = np.concatenate([[False], energy_db <= DIGITAL_SILENCE_DB, [False]]).astype(np.int8)
    starts, ends = np.flatnonzero(np.diff(silent) == 1), np.flatnonzero(np.diff(silent) == -1)
    reach, filled = round(ROOM_TONE_REACH * SAMPLE_RATE / hop), energy_db.copy()
    for a, b in zip(starts, ends):
        beside = np.concatenate([energy_db[max(0, a - reach):a], energy_db[b:b + reach]])
        if len(beside) and beside.min() > DIGITAL_SILENCE_DB:
            filled[a:b] = np.percentile(beside, 25)
    return filled


def speech_threshold_db(energy_db: np.ndarray, margin_db: float = 10.0, block: int = 100,
                        reach: int = 2) -> np.ndarray:
    """Per-frame energy (dB) above which a frame counts as sound: the local noise floor (5th
    percentile of the surrounding ±`reach` blocks of `block` frames) plus `margin_db`, or half
    way to the recording's speech level (its 95th percentile) if that is closer. Digital silence
    counts at the level of the room tone beside it (`fill_digital_silence`)."""
    energy_db = fill_digital_silence(energy_db)
    n = len(energy_db)
    if n == 0:
        return np.zeros(0, np.float32)
    blocks = int(np.ceil(n / block))
    floors = np.array([np.percentile(energy_db[max(0, (k - reach) * block):(k + reach + 1) * block], 5)
                       for k in range(blocks)])
    floor = np.interp(np.arange(n), (np.arange(blocks) + 0.5) * block, floors)
    speech = float(np.percentile(energy_db, 95))
    return (floor + np.minimum(margin_db, np.maximum(speech - floor, 0) / 2)).astype(np.float32)


def sound_frames(audio: np.ndarray, energy_db: np.ndarray | None = None) -> np.ndarray:
    """Which 10 ms frames of `audio` hold sound loud enough to be speech: the frame's energy
    (`energy_db`, if already computed) is over `speech_threshold_db`, or in one of SPEECH_BANDS
    over that band's own threshold (BAND_MARGIN_DB) for BAND_RUN frames in a row. Speech over a
    steady sound that fills some bands (music, a hum, a fan's rumble) still rises over it in the
    others."""
    energy_db = frame_energy_db(audio) if energy_db is None else energy_db
    loud = energy_db > speech_threshold_db(energy_db)
    for band in band_energy_db(audio).T:
        loud |= _lasting(band > speech_threshold_db(band, BAND_MARGIN_DB), BAND_RUN)
    return loud


def _lasting(mask: np.ndarray, frames: int) -> np.ndarray:
    """`mask` without its runs of True shorter than `frames`."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    lasting = np.zeros(len(mask), bool)
    for start, end in zip(edges[::2], edges[1::2]):
        lasting[start:end] = end - start >= frames
    return lasting


def voiced_frames(audio: np.ndarray, min_hz: float = 70.0, max_hz: float = 400.0,
                  threshold: float = 0.5) -> np.ndarray:
    """True for frames with a clear pitch between `min_hz` and `max_hz` (voiced speech such as a
    sustained "uh"): the normalized autocorrelation of a 40 ms Hann-windowed frame, divided by
    the window's own autocorrelation (Boersma 1993), peaks above `threshold`."""
    size = 4 * HOP
    taper = np.hanning(size).astype(np.float32)
    window_corr = np.fft.irfft(np.abs(np.fft.rfft(taper, n=2 * size)) ** 2)[:size]
    lo, hi = int(SAMPLE_RATE / max_hz), min(int(SAMPLE_RATE / min_hz), size // 2)
    frames = _frames(audio, size)
    voiced = np.zeros(len(frames), bool)
    for k in range(0, len(frames), BLOCK_FRAMES):
        block = frames[k:k + BLOCK_FRAMES]
        block = (block - block.mean(axis=1, keepdims=True)) * taper
        corr = np.fft.irfft(np.abs(np.fft.rfft(block, n=2 * size, axis=1)) ** 2, axis=1)[:, :hi]
        normalized = corr[:, lo:hi] / window_corr[lo:hi] / np.maximum(corr[:, :1] / window_corr[0], 1e-12)
        voiced[k:k + BLOCK_FRAMES] = normalized.max(axis=1) > threshold
    return voiced


def quietest_time(energy_db: np.ndarray, start: float, end: float, frames: int = 3) -> float:
    """The centre time (s) of the quietest 10 ms frame in [start, end), its energy averaged over
    `frames` frames (30 ms finds the gap between two words; 110 ms prefers a pause to the
    brief silence of a stop consonant)."""
    a, b = max(0, int(start * 100)), min(len(energy_db), int(np.ceil(end * 100)))
    if b <= a:
        return (start + end) / 2
    lo, hi = max(0, a - frames // 2), min(len(energy_db), b + frames // 2)  # smooth only around the window
    smooth = np.convolve(energy_db[lo:hi], np.ones(frames) / frames, mode="same")[a - lo:b - lo]
    return (a + int(np.argmin(smooth))) / 100 + 0.005
