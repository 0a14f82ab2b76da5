"""Video decoding at 25 fps and the paper's RGB preprocessing."""
