"""`vtube-plugin bench`: ours beside the authors' reference, interleaved frame by frame in one run."""
