"""solvers/_core"""
