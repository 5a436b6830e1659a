#!/bin/sh
# One command to train and export tiny-r1-arith (CPU only, fixed seed). Extra arguments go to train.py,
# e.g. ./train.sh --minutes 40.
# The shipped model came from these three runs, in order (README, "Reproduce"):
#   ./train.sh --minutes 42 --threads 1 --grpo-minutes 0 --out out
#   ./train.sh --resume out/sft.pt --threads 1 --grpo-minutes 9 --out out
#   ./train.sh --init out/grpo.pt --minutes 22 --lr 3e-4 --mix sub=3,word-sub=3 --val-every 4 --threads 1 --grpo-minutes 5 --out out2
# One BLAS thread per process: on a shared machine that beat two.
cd "$(dirname "$0")" && OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} \
  exec /usr/bin/python3 train.py "$@"
