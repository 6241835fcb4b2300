"""Settings for the whole test suite: headless plotting and windows, outputs in a temp folder."""

import os
import tempfile

# These must be set before matplotlib, pygame or TensorFlow are imported anywhere.
os.environ["MPLBACKEND"] = "Agg"
os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["RL_BOOK_OUTPUT_DIR"] = tempfile.mkdtemp(prefix="rl-book-test-outputs-")
