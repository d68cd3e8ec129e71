"""Audio in: microphone or file capture, voice activity and loudness, vowels from the spectrum (lip sync)."""
