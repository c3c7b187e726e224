"""solvers/methods/trust_region"""
