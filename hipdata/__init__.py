"""hipdata: weekly hip-mobility progress tracking that separates real progress from measurement noise."""
