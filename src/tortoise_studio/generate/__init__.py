"""Generate: speech from the base model or a fine-tune (synthesizer.py), the conditioning latents of a
voice's clips (latents.py) and the results folder with each result's settings (results.py)."""
