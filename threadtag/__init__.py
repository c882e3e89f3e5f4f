"""threadtag: hashtags for microblog threads, generated from the post and its conversation."""

from pathlib import Path

__version__ = "0.1.0"

# In a checkout the layers live beside this folder (models/, schemas/, pipeline/, workers/,
# migrations/, samples/); the wheel installs them inside it. Searching the checkout's root
# too makes `threadtag.models` the same module either way, installed or not.
_CHECKOUT = Path(__file__).resolve().parents[1]
if not (Path(__file__).parent / "models").is_dir() and (_CHECKOUT / "models" / "__init__.py").is_file():
    __path__.append(str(_CHECKOUT))
