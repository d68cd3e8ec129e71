"""Lip sync from real speech made on the machine (espeak-ng): the mouth opens while someone talks and closes
within 150 ms of silence, noise and keyboard clicks leave it shut, sung vowels give their mouth shapes, the
mixing modes, and the microphone path through a real PulseAudio device (a null sink's monitor)."""

from __future__ import annotations

import io
import subprocess
import time

import numpy as np
import pytest
from pulse_sink import null_sink  # noqa: F401 - a fixture
from speech import SENTENCE, VOWEL_PHONEMES, audible_span, read_sound, room_noise, speak

from vtube_plugin.audio.lip_sync import LipSyncSettings, Voice, VoiceNow
from vtube_plugin.audio.voice import HOP, RATE, VoiceAnalyser, VoiceSettings
from vtube_plugin.audio.vowels import VOWELS
from vtube_plugin.errors import UserError
from vtube_plugin.expressions.lip_sync import LipSyncLayer
from vtube_plugin.pose import Pose


def mouth_track(samples: np.ndarray, settings: VoiceSettings = VoiceSettings()) -> np.ndarray:
    """The five mouth values after every 10 ms hop, as the capture thread would produce them."""
    analyser, out = VoiceAnalyser(settings), []
    for at in range(0, len(samples) - HOP + 1, HOP):
        analyser.feed(samples[at:at + HOP])
        out.append(analyser.mouth.copy())
    return np.array(out)


@pytest.fixture(scope="module")
def sentence(tmp_path_factory):
    return speak(tmp_path_factory.mktemp("speech") / "sentence.wav", SENTENCE)


def test_the_mouth_opens_while_talking_and_closes_within_150_ms_of_silence(sentence):
    samples = read_sound(sentence)
    begin, end = audible_span(samples)
    opening = mouth_track(samples).sum(axis=1)
    t = (np.arange(len(opening)) + 1) * HOP / RATE  # each value is known at the end of its hop
    assert np.all(opening[t < begin] < 0.01)  # shut before the first word
    talking = opening[(t > begin) & (t < end)]
    assert (talking > 0.2).mean() > 0.4 and talking.max() > 0.8  # opens, and wide, on the vowels
    assert np.all(opening[t >= end + 0.150] < 0.05)  # shut again within 150 ms of the last sound


def test_breathing_noise_and_keyboard_clicks_do_not_open_the_mouth(tmp_path):
    samples = read_sound(room_noise(tmp_path / "room.wav"))
    assert 20 * np.log10(np.abs(samples).max()) > -10  # the clicks are loud: it is the gate, not the volume
    assert mouth_track(samples).sum(axis=1).max() < 0.05


@pytest.mark.parametrize("voice", ["en", "en+f3"])
@pytest.mark.parametrize("vowel", ["aaa", "iii", "uuu", "eee", "ooo"])
def test_a_sustained_vowel_gives_its_mouth_shape(tmp_path, vowel, voice):
    samples = read_sound(speak(tmp_path / f"{vowel}.wav", VOWEL_PHONEMES[vowel], phonemes=True, pad=(0.5, 0.5),
                               voice=voice))
    mouth = mouth_track(samples)
    share = mouth.sum(axis=0) / mouth.sum()
    assert VOWELS[int(np.argmax(share))] == vowel, dict(zip(VOWELS, share.round(2)))
    assert share[VOWELS.index(vowel)] > 0.5, dict(zip(VOWELS, share.round(2)))


def test_open_only_and_gain(sentence):
    samples = read_sound(sentence)
    plain = mouth_track(samples)
    only = mouth_track(samples, VoiceSettings(open_only=True))
    assert np.all(only[:, 1:] == 0.0) and only[:, 0].max() > 0.8
    wider = mouth_track(samples, VoiceSettings(gain=2.0)).sum(axis=1)
    assert wider.mean() > plain.sum(axis=1).mean() * 1.3


def test_a_device_that_stops_sending_closes_the_mouth_instead_of_freezing_it(sentence):
    clock = [0.0]
    voice = Voice(VoiceSettings(), clock=lambda: clock[0])
    samples = read_sound(sentence)
    begin, _ = audible_span(samples)
    loudest = int((begin + 0.4) * RATE)
    voice.feed(samples[:loudest])  # in the middle of a word
    assert voice.now().mouth.sum() > 0.2
    clock[0] += 0.3  # and then nothing more (a microphone unplugged mid-word)
    assert voice.now().mouth.sum() == 0.0 and not voice.now().active


def voice_talking(level: float, mouth) -> Voice:
    """A voice whose newest analysis is this mouth at this presence (on a clock that stands still)."""
    voice = Voice(VoiceSettings(), clock=lambda: 0.0)
    voice._now = VoiceNow(np.array(mouth, dtype=float), level, -20.0, level > 0)
    voice.fed_at = 0.0
    return voice


@pytest.mark.parametrize("mode, presence, expected", [
    ("auto", 1.0, [0.0, 0.7, 0.0, 0.0, 0.0]),   # talking: the voice's mouth
    ("auto", 0.0, [0.4, 0.0, 0.0, 0.0, 0.0]),   # a pause: back to tracking
    ("auto", 0.5, [0.2, 0.35, 0.0, 0.0, 0.0]),  # handing over: a mix, never a jump
    ("audio", 0.0, [0.0, 0.7, 0.0, 0.0, 0.0]),
    ("tracking", 1.0, [0.4, 0.0, 0.0, 0.0, 0.0]),
    ("max", 1.0, [0.4, 0.7, 0.0, 0.0, 0.0]),
])
def test_mixing_modes(mode, presence, expected, sentence):
    layer = LipSyncLayer(LipSyncSettings(input=f"file:{sentence}", mode=mode), messages=io.StringIO())
    try:
        layer.voice = voice_talking(presence, [0.0, 0.7, 0.0, 0.0, 0.0])
        tracked = Pose.from_dict({"mouth_aaa": 0.4, "eyebrow_happy_left": 0.5})
        out = layer.apply(tracked, 0.0)
        assert [out[f"mouth_{v}"] for v in VOWELS] == pytest.approx(expected)
        assert out["eyebrow_happy_left"] == 0.5  # only the five vowels are the voice's
    finally:
        layer.close()


@pytest.mark.parametrize("spec, message", [
    ("microphone", "--lip-sync 'microphone' is not one of: off (default), mic"),
    ("mic:name=usb", "after mic: give device=NAME or device=INDEX"),
    ("file:/no/such/voice.wav", "--lip-sync file:/no/such/voice.wav: no such sound file"),
])
def test_wrong_lip_sync_options_are_clear(spec, message):
    with pytest.raises(UserError) as err:
        LipSyncSettings(input=spec).check()
    assert message in str(err.value)


def test_a_missing_microphone_is_a_message_with_the_devices_and_the_stream_goes_on():
    said = io.StringIO()
    layer = LipSyncLayer(LipSyncSettings(input="mic:device=no-such-microphone-here"), messages=said)
    pose = Pose.from_dict({"mouth_aaa": 0.3})
    assert layer.apply(pose, 1.0) == pose  # the tracked mouth goes on
    assert layer.status() == "lip sync off (no microphone)"
    text = said.getvalue()
    assert text.startswith("lip sync off: ")
    # Either PortAudio lists the devices, or it says what is missing; never a traceback.
    assert "no audio input device is called 'no-such-microphone-here'" in text or "PortAudio" in text
    layer.close()


# --- a real capture device: tests/pulse_sink.py ----------------------------------------------------------------
def test_the_microphone_hears_speech_through_a_real_audio_device(null_sink, sentence, monkeypatch):  # noqa: F811
    # PortAudio's ALSA "default" device is PulseAudio; PULSE_SOURCE makes the sink's monitor its microphone.
    monkeypatch.setenv("PULSE_SOURCE", f"{null_sink}.monitor")
    said = io.StringIO()
    layer = LipSyncLayer(LipSyncSettings(input="mic", mode="audio"), messages=said)
    try:
        assert layer.input is not None, said.getvalue()
        assert "sound -> pose buffering about" in said.getvalue()
        latency_ms = int(said.getvalue().split("buffering about ")[1].split(" ms")[0])
        assert latency_ms <= 60
        layer.apply(Pose(), 0.0)
        player = subprocess.Popen(["paplay", f"--device={null_sink}", str(sentence)])
        seen, statuses = [], set()
        deadline = time.monotonic() + 30
        while (player.poll() is None or len(seen) < 300) and time.monotonic() < deadline:
            pose = layer.apply(Pose(), time.monotonic())
            seen.append(sum(pose[f"mouth_{v}"] for v in VOWELS))
            statuses.add(layer.status().endswith("talking"))
            time.sleep(0.01)
        player.wait(timeout=10)
        time.sleep(0.3)
        after = sum(layer.apply(Pose(), time.monotonic())[f"mouth_{v}"] for v in VOWELS)
    finally:
        layer.close()
    assert max(seen) > 0.8 and np.mean(np.array(seen) > 0.2) > 0.2  # it talked through the device
    assert statuses == {True, False}  # the status line said when
    assert after < 0.05  # and shut after the playback ended


def test_a_sound_file_is_heard_in_real_time_from_the_first_frame(sentence):
    samples = read_sound(sentence)
    begin, end = audible_span(samples)
    layer = LipSyncLayer(LipSyncSettings(input=f"file:{sentence}", mode="audio"), messages=io.StringIO())
    try:
        time.sleep(0.5)
        assert layer.voice.fed_at is None  # nothing is heard before the first frame (a slow model load)
        start = time.monotonic()
        layer.apply(Pose(), start)
        seen = []
        while time.monotonic() - start < end + 0.6:
            now = time.monotonic()
            pose = layer.apply(Pose(), now)
            seen.append((now - start, sum(pose[f"mouth_{v}"] for v in VOWELS)))
            time.sleep(0.01)
    finally:
        layer.close()
    before = [m for t, m in seen if t < begin - 0.05]
    talking = [m for t, m in seen if begin < t < end]
    after = [m for t, m in seen if t > end + 0.3]
    assert before and max(before) < 0.01
    assert max(talking) > 0.8 and np.mean(np.array(talking) > 0.2) > 0.3
    assert after and max(after) < 0.05  # after the end: silence, the mouth shut


def test_a_looped_sound_file_plays_again_from_its_start(tmp_path):
    from vtube_plugin.audio.capture import FileInput

    word = speak(tmp_path / "hello.wav", "hello", pad=(0.2, 0.2))
    length = len(read_sound(word))
    fed: list[np.ndarray] = []
    source = FileInput(word, fed.append, loop=True).start()
    source.begin()
    try:
        deadline = time.monotonic() + 30
        while sum(map(len, fed)) < 2.5 * length and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        source.close()
    heard = np.concatenate(fed)
    assert len(heard) >= 2.5 * length  # a third pass had begun: not silence after the first
    first, second = np.abs(heard[:length]).max(), np.abs(heard[length:2 * length]).max()
    assert first > 0.05 and second > 0.5 * first  # the word again, not the silence after the end
    with pytest.raises(UserError, match="--lip-sync-loop"):
        LipSyncSettings(input="mic", loop=True).check()
