#!/bin/sh
# One command to train and export tiny-r1-arith (CPU only, fixed seed): ./train.sh
# With no arguments: both SFT stages (36 + 12 min, ~51 min in all on one core; README.md, "Reproduce"). The shipped
# files came from stage 2 alone, ./train.sh --init-from <the stage-1 F32 file>. Extra arguments go to train.py.
# One BLAS thread per process: on a shared machine that beat two.
cd "$(dirname "$0")" && OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} \
  exec /usr/bin/python3 train.py "$@"
