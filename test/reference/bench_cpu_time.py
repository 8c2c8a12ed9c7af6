"""Run test/reference/bench_nnunet.py with its stage clock switched from wall time to this process's CPU time
(time.process_time: user + system of all threads), so that PyTorch's cost per stage can be compared with
Delineate's CPU time (test/bench/inference-run.ts prints `cpuSeconds`) on a machine shared with other work, where
wall times mostly measure the other work.

Usage: bench_cpu_time.py <the arguments of bench_nnunet.py>
"""
import os
import runpy
import sys
import time

time.perf_counter = time.process_time
sys.argv = [os.path.join(os.path.dirname(os.path.abspath(__file__)), 'bench_nnunet.py')] + sys.argv[1:]
runpy.run_path(sys.argv[0], run_name='__main__')
