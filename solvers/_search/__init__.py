"""solvers/_search"""
