"""halab: bring up high-availability lab clusters, break them, measure and grade what clients saw."""
