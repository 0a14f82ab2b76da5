"""The building blocks of I3D (Carreira & Zisserman, CVPR 2017).

`i3d.py` assembles them into the network.
"""
