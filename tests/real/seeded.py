"""Run the script named in argv[1] as `python SCRIPT` would, after seeding every generator.

torch seeds itself from the operating system in each new process, so two runs of an
unseeded script differ; tests/real runs each script through this file, under gradviz
and plainly, to compare the two runs number for number. The script itself is not changed.
"""
import random
import runpy
import sys

import numpy
import torch

SEED = 0
random.seed(SEED)
numpy.random.seed(SEED)
torch.manual_seed(SEED)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
