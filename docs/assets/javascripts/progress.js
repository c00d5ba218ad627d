// Progress on the self-checks (being written).
