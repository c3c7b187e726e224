"""solvers/methods/scalar"""
