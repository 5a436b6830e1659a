#!/bin/sh
# One command to train and export tiny-r1-arith (CPU only, fixed seed): ./train.sh
# With no arguments this is the recipe that produced the shipped files (36 min SFT, ~40 min in all on one
# core; README.md, "Reproduce"). Extra arguments go to train.py, e.g. ./train.sh --steps 3000 or --minutes 20.
# One BLAS thread per process: on a shared machine that beat two.
cd "$(dirname "$0")" && OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} \
  exec /usr/bin/python3 train.py "$@"
