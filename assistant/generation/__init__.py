"""Generators: the `Generator` protocol, llama.cpp over embedded GGUFs, and the model catalog."""
