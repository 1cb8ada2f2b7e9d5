"""What the backends share, written once: the small solve of the normal equations and its error bounds,
the exact merge of co-moments, double-double arithmetic, and the helpers of the iterative kernels."""
