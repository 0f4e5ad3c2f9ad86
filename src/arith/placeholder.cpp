// Placeholder until the SySMT kernels land.
