#!/usr/bin/env bash
# Create .venv if missing and install the project into it. Cheap when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
pip=(.venv/bin/python -m pip install -q --disable-pip-version-check)
# Machines of this workplace keep wheels (the CPU torch among them) on local disk.
[ -d /opt/wheels ] && pip+=(--find-links /opt/wheels)

stamp=.venv/.threadtag-installed
# The editable install maps the package folders of one checkout: a venv copied from another
# checkout, a changed pyproject.toml or a package added or removed means installing again.
packages=$(find threadtag models schemas pipeline workers migrations samples -name __init__.py | sort)
want=$( { pwd; cat pyproject.toml; echo "$packages"; } | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    # torch first, pinned to the CPU build on disk: left to the project's `torch>=2.4`,
    # pip would fetch a multi-GB CUDA build.
    .venv/bin/python -c "import torch" 2>/dev/null || "${pip[@]}" "torch==2.13.0"
    "${pip[@]}" -e ".[dev]"
    echo "$want" > "$stamp"
fi
