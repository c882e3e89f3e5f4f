"""The bundled sample threads (`threads.jsonl`), written by make_sample.py."""
