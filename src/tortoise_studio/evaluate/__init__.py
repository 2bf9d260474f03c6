"""Hearing and scoring every checkpoint: samples, intelligibility (CER), voice similarity, the best one.

`python -m tortoise_studio.evaluate RUN_DIR --follow` is the evaluator process that launch.py starts
beside a run; `tortoise-studio evaluate RUN_DIR` scores checkpoints by hand. Modules:
cer (Whisper transcript vs text), similarity (speaker embeddings), sampler (the samples), evaluator
(scoring and following), store (files), best (the best checkpoint), process (start, stop, status).
"""
