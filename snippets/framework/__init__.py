"""The interview framework: estimation, thresholds, features, drift."""
