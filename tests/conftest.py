import os
import sys
from pathlib import Path

# Tests import the project's packages and helpers.py from a plain checkout.
ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]
# The shipped torch configs run our own example models (assets/configs/models): trusted in the suite, as a
# user's --trust would. Tests of the refusal take the variable away (tests/test_torch_trace.py).
os.environ["BACKPROP_TRUST"] = "1"


def pytest_addoption(parser):
    parser.addoption("--regenerate-controls", action="store_true",
                     help="Rewrite tests/control_frames/*.png from the current scenes (then look at them).")
