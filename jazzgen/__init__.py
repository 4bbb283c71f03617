"""jazzgen: learns jazz improvisation from MIDI and improvises new solos over chord changes."""
import os

# The sampler's matrix-vector products (one note at a time) are far too small to share
# between BLAS threads: one thread samples a 30-s solo about twice as fast as OpenBLAS's
# default pool here (scripts/bench_generate.py), and a server's concurrent requests then
# each keep to their own core.  Set before NumPy loads; a value the user set wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
