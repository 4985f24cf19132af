import sys

from gradviz.runner.child import run

run(sys.argv[1])
